/* qb_gen.c - the synthetic demo bank (`qbank gen-demo`) and the blueprints that go with it.
 *
 * Every category x paper gets the sections its licensing exam has, and every section all
 * question types: A1, A2 and X singles, A3/A4 case groups and B1 shared-option groups, in
 * proportions like a real paper's. The texts are built from per-section topic lists and
 * say they are demo questions; no real exam text is used. Deterministic in the seed. */
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"
#include "dk_log.h"
#include "qb_internal.h"

typedef struct gen_section {
    const char *name;
    int count;      /* questions in the blueprint */
    unsigned types; /* blueprint row types (0 = any) */
    const char *topics[12];
} gen_section;

typedef struct gen_paper {
    int category, paper;
    const char *code;
    gen_section sections[8];
} gen_paper;

#define T(x) QB_TYPE_BIT(QB_##x)

#define PUBLIC_SECTIONS                                                                            \
    {"卫生法规",                                                                                   \
     35,                                                                                           \
     0,                                                                                            \
     {"医师法", "传染病防治法", "药品管理法", "医疗机构管理条例", "医疗纠纷预防和处理条例",        \
      "母婴保健法", "献血法", "突发公共卫生事件应急条例", "精神卫生法",                            \
      "基本医疗卫生与健康促进法", "处方管理办法", "医疗废物管理条例"}},                            \
        {"医学伦理学",                                                                             \
         25,                                                                                       \
         0,                                                                                        \
         {"知情同意原则", "不伤害原则", "有利原则", "尊重原则", "公正原则", "保密义务",            \
          "医德评价", "临终关怀伦理", "人体试验伦理", "器官移植伦理", "医学科研伦理",              \
          "公共卫生伦理"}},                                                                        \
        {"医学心理学",                                                                             \
         20,                                                                                       \
         0,                                                                                        \
         {"心理应激", "心理防御机制", "心身疾病", "人格理论", "心理评估", "心理治疗", "病人角色",  \
          "遵医行为", "焦虑反应", "抑郁情绪", "认知行为疗法", "心理危机干预"}},                    \
        {"医患沟通",                                                                               \
         20,                                                                                       \
         0,                                                                                        \
         {"倾听技巧", "告知坏消息", "共情回应", "知情同意谈话", "医疗纠纷沟通", "非语言沟通",      \
          "开放式提问", "健康教育", "随访沟通", "投诉处理", "团队沟通", "跨文化沟通"}},            \
    {                                                                                              \
        NULL, 0, 0,                                                                                \
        {                                                                                          \
            NULL                                                                                   \
        }                                                                                          \
    }

static const gen_paper gen_papers[] = {
    {0, 0, "LC-GG", {PUBLIC_SECTIONS}},
    {0,
     1,
     "LC-YW",
     {{"内科学",
       22,
       T(A1) | T(A2) | T(X),
       {"高血压病", "冠心病", "慢性阻塞性肺疾病", "支气管哮喘", "消化性溃疡", "肝硬化", "2型糖尿病",
        "甲状腺功能亢进症", "肾病综合征", "缺铁性贫血", "急性白血病", "类风湿关节炎"}},
      {"内科学",
       8,
       T(A3) | T(A4) | T(B1),
       {"高血压病", "冠心病", "慢性阻塞性肺疾病", "支气管哮喘", "消化性溃疡", "肝硬化", "2型糖尿病",
        "甲状腺功能亢进症", "肾病综合征", "缺铁性贫血", "急性白血病", "类风湿关节炎"}},
      {"外科学",
       20,
       0,
       {"急性阑尾炎", "腹股沟疝", "胆囊结石", "急性胰腺炎", "肠梗阻", "胃癌", "结直肠癌", "乳腺癌",
        "颅脑损伤", "股骨颈骨折", "烧伤", "甲状腺腺瘤"}},
      {"妇产科学",
       15,
       0,
       {"异位妊娠", "前置胎盘", "胎盘早剥", "妊娠期高血压疾病", "产后出血", "子宫肌瘤", "宫颈癌",
        "卵巢肿瘤", "多囊卵巢综合征", "围绝经期综合征", "盆腔炎性疾病", "早产"}},
      {"儿科学",
       15,
       0,
       {"小儿肺炎", "小儿腹泻", "维生素D缺乏性佝偻病", "新生儿黄疸", "川崎病", "手足口病", "麻疹",
        "水痘", "营养性缺铁性贫血", "先天性心脏病", "急性肾小球肾炎", "热性惊厥"}},
      {"神经病学",
       10,
       0,
       {"脑梗死", "脑出血", "蛛网膜下腔出血", "癫痫", "帕金森病", "吉兰-巴雷综合征", "重症肌无力",
        "偏头痛", "多发性硬化", "阿尔茨海默病", "面神经炎", "周围神经病"}},
      {"传染病学",
       10,
       0,
       {"病毒性肝炎", "艾滋病", "肺结核", "流行性感冒", "细菌性痢疾", "伤寒", "疟疾", "狂犬病",
        "流行性出血热", "布鲁菌病", "猩红热", "流行性脑脊髓膜炎"}},
      {NULL, 0, 0, {NULL}}}},
    {1, 0, "ZY-GG", {PUBLIC_SECTIONS}},
    {1,
     1,
     "ZY-YW",
     {{"中医基础理论",
       15,
       0,
       {"阴阳学说", "五行学说", "藏象学说", "气血津液", "经络学说", "病因学说", "病机学说",
        "防治原则", "体质学说", "精气学说", "六淫", "七情内伤"}},
      {"中医诊断学",
       15,
       0,
       {"望诊", "闻诊", "问诊", "切诊", "八纲辨证", "脏腑辨证", "卫气营血辨证", "六经辨证", "舌诊",
        "脉诊", "气血辨证", "三焦辨证"}},
      {"中药学",
       15,
       0,
       {"解表药", "清热药", "泻下药", "祛风湿药", "化湿药", "利水渗湿药", "温里药", "理气药",
        "止血药", "活血化瘀药", "补虚药", "安神药"}},
      {"方剂学",
       15,
       0,
       {"麻黄汤", "桂枝汤", "小柴胡汤", "四君子汤", "四物汤", "六味地黄丸", "补中益气汤",
        "血府逐瘀汤", "逍遥散", "银翘散", "龙胆泻肝汤", "归脾汤"}},
      {"针灸学",
       10,
       0,
       {"手太阴肺经", "足阳明胃经", "足太阳膀胱经", "任脉", "督脉", "特定穴", "刺法", "灸法",
        "拔罐法", "头痛的针灸治疗", "面瘫的针灸治疗", "腰痛的针灸治疗"}},
      {"中医内科学",
       20,
       0,
       {"感冒", "咳嗽", "哮病", "心悸", "胸痹", "不寐", "胃痛", "泄泻", "胁痛", "眩晕", "水肿",
        "消渴"}},
      {"中医外科学",
       10,
       0,
       {"疖", "痈", "丹毒", "乳痈", "乳癖", "湿疮", "瘾疹", "痔", "肛裂", "脱疽", "冻疮",
        "蛇串疮"}},
      {NULL, 0, 0, {NULL}}}},
    {2, 0, "KQ-GG", {PUBLIC_SECTIONS}},
    {2,
     1,
     "KQ-YW",
     {{"口腔内科学",
       30,
       0,
       {"龋病", "牙髓炎", "根尖周炎", "牙龈炎", "牙周炎", "复发性阿弗他溃疡", "口腔扁平苔藓",
        "口腔白斑病", "牙本质敏感", "楔状缺损", "牙外伤", "口腔念珠菌病"}},
      {"口腔颌面外科学",
       25,
       0,
       {"智齿冠周炎", "颌面部间隙感染", "颌骨骨折", "颞下颌关节紊乱病", "唇腭裂", "舌癌",
        "成釉细胞瘤", "牙拔除术", "三叉神经痛", "涎腺肿瘤", "颌骨骨髓炎", "口腔局部麻醉"}},
      {"口腔修复学",
       25,
       0,
       {"嵌体", "全冠", "桩核冠", "固定桥", "可摘局部义齿", "全口义齿", "种植修复", "咬合重建",
        "印模技术", "比色", "基牙预备", "义齿基托"}},
      {"口腔正畸学",
       10,
       0,
       {"安氏I类错颌", "安氏II类错颌", "安氏III类错颌", "牙列拥挤", "反颌", "深覆颌", "开颌",
        "固定矫治器", "活动矫治器", "保持器", "头影测量", "功能矫治器"}},
      {"口腔预防医学",
       10,
       0,
       {"窝沟封闭", "氟化物防龋", "菌斑控制", "口腔健康教育", "龋病流行病学", "社区牙周指数",
        "口腔健康调查", "刷牙方法", "牙线使用", "口腔癌筛查", "学校口腔保健", "老年口腔保健"}},
      {NULL, 0, 0, {NULL}}}},
    {3, 0, "GW-GG", {PUBLIC_SECTIONS}},
    {3,
     1,
     "GW-YW",
     {{"流行病学",
       25,
       0,
       {"发病率", "患病率", "队列研究", "病例对照研究", "随机对照试验", "筛检试验", "偏倚控制",
        "暴发调查", "传染病监测", "病因推断", "相对危险度", "疫苗效果评价"}},
      {"卫生统计学",
       20,
       0,
       {"t检验", "方差分析", "卡方检验", "秩和检验", "直线相关", "线性回归", "抽样误差", "置信区间",
        "生存分析", "统计图表", "样本量估计", "Logistic回归"}},
      {"环境卫生学",
       15,
       0,
       {"大气污染", "水体污染", "饮用水消毒", "土壤污染", "室内空气污染", "环境噪声",
        "地方性氟中毒", "碘缺乏病", "生物地球化学性疾病", "环境影响评价", "垃圾处理",
        "环境内分泌干扰物"}},
      {"职业卫生与职业医学",
       15,
       0,
       {"铅中毒", "苯中毒", "汞中毒", "矽肺", "石棉肺", "噪声聋", "中暑", "一氧化碳中毒",
        "职业性皮肤病", "职业健康监护", "有机磷农药中毒", "局部振动病"}},
      {"营养与食品卫生学",
       15,
       0,
       {"蛋白质营养", "维生素A缺乏", "维生素C", "钙与骨健康", "膳食指南", "食物中毒",
        "沙门菌食物中毒", "黄曲霉毒素", "N-亚硝基化合物", "食品添加剂", "肥胖", "糖尿病膳食"}},
      {"儿童少年卫生学",
       10,
       0,
       {"生长发育评价", "青春期发育", "学校卫生", "近视防控", "儿童肥胖", "儿童伤害",
        "心理行为问题", "营养不良", "学习疲劳", "体育锻炼卫生", "学校传染病防控", "视力筛查"}},
      {NULL, 0, 0, {NULL}}}},
};

#define NPAPERS_GEN (sizeof gen_papers / sizeof gen_papers[0])

/* ---- blueprints ---------------------------------------------------------------------------------
 */

size_t qb_gen_demo_blueprints(qb_bp_def *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NPAPERS_GEN && n < max; i++) {
        const gen_paper *gp = &gen_papers[i];
        qb_bp_def *bp = &out[n++];
        memset(bp, 0, sizeof *bp);
        bp->category = gp->category;
        bp->paper = gp->paper;
        bp->duration_min = 60;
        for (const gen_section *s = gp->sections; s->name; s++) {
            qb_bp_row *r = &bp->rows[bp->nrows++];
            r->section = dk_strdup(s->name);
            r->types = s->types;
            r->count = s->count;
            bp->question_count += s->count;
        }
        bp->pass_mark = bp->question_count * 60 / 100;
    }
    return n;
}

/* ---- questions
 * ------------------------------------------------------------------------------------ */

typedef struct grng {
    uint64_t x;
} grng;

static uint32_t gbelow(grng *r, uint32_t n)
{
    uint64_t z = (r->x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (uint32_t)(((unsigned __int128)z * n) >> 64);
}

static size_t ntopics(const gen_section *s)
{
    size_t n = 0;
    while (n < 12 && s->topics[n])
        n++;
    return n;
}

/* Five distinct topics of the section into opts (as option texts). */
static void pick_topics(grng *r, const gen_section *s, const char **opts, int k)
{
    size_t n = ntopics(s);
    int idx[12];
    for (size_t i = 0; i < n; i++)
        idx[i] = (int)i;
    for (int i = 0; i < k; i++) {
        uint32_t j = (uint32_t)i + gbelow(r, (uint32_t)(n - (size_t)i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        opts[i] = s->topics[idx[i]];
    }
}

static const char *const clinical_aspects[] = {"病因",       "临床表现", "诊断要点", "治疗原则",
                                               "常见并发症", "预防措施", "基本概念", "评价方法"};
static const char *const public_aspects[] = {"适用范围", "基本原则", "法律责任", "主要内容",
                                             "实践要求", "典型情形", "核心概念", "评价标准"};
static const char *const case_asks[] = {"最可能的诊断是", "首选的检查是", "首选的处理是",
                                        "最主要的依据是", "最需要警惕的情况是"};

typedef struct gen_out {
    FILE *f;
    const gen_paper *gp;
    const gen_section *s;
    long lines;
    int seq;
} gen_out;

static void write_q(gen_out *o, const char *type, const char *group, const char *case_text,
                    const char *stem, const char *const *opts, int nopt, const char *answer,
                    int difficulty, const char *explanation)
{
    char id[40];
    snprintf(id, sizeof id, "DEMO-%s-%05d", o->gp->code, ++o->seq);
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "category", json_string(qb_category_names[o->gp->category]));
    json_object_set_new(j, "paper", json_string(qb_paper_names[o->gp->paper]));
    json_object_set_new(j, "section", json_string(o->s->name));
    json_object_set_new(j, "type", json_string(type));
    if (group) json_object_set_new(j, "group", json_string(group));
    if (case_text) json_object_set_new(j, "case", json_string(case_text));
    json_object_set_new(j, "stem", json_string(stem));
    json_t *oj = json_object();
    for (int i = 0; i < nopt; i++) {
        char k[2] = {(char)('A' + i), 0};
        json_object_set_new(oj, k, json_string(opts[i]));
    }
    json_object_set_new(j, "options", oj);
    json_object_set_new(j, "answer", json_string(answer));
    json_object_set_new(j, "difficulty", json_integer(difficulty));
    if (explanation) json_object_set_new(j, "explanation", json_string(explanation));
    char *line = dk_json_dump(j);
    fprintf(o->f, "%s\n", line);
    free(line);
    json_decref(j);
    o->lines++;
}

/* Writes one unit (a single question or a whole group); returns its question count. */
static int gen_unit(gen_out *o, grng *r, int *group_seq)
{
    const gen_section *s = o->s;
    const char *opts[5];
    char stem[512], case_text[1024], expl[256], ans[6], gid[40];
    int kind = (int)gbelow(r, 100), diff = 1 + (int)gbelow(r, 5), tag = o->seq + 1;
    const char *const *aspects = o->gp->paper == 0 ? public_aspects : clinical_aspects;
    const char *aspect = aspects[gbelow(r, 8)];
    pick_topics(r, s, opts, 5);
    int a = (int)gbelow(r, 5);
    ans[0] = (char)('A' + a), ans[1] = 0;
    if (kind < 42) { /* A1 */
        snprintf(stem, sizeof stem, "（演示题%d）%s中，下列各项的%s属于本节重点考查内容的是", tag,
                 s->name, aspect);
        snprintf(expl, sizeof expl, "演示题：本题考查%s的%s，答案为%s。", opts[a], aspect, ans);
        write_q(o, "A1", NULL, NULL, stem, opts, 5, ans, diff, expl);
        return 1;
    }
    if (kind < 67) { /* A2 */
        int age = 18 + (int)gbelow(r, 60);
        if (o->gp->paper == 0)
            snprintf(stem, sizeof stem,
                     "（演示题%d）某医师在执业中遇到与%s有关的情形（患者%d岁），就其%s而言，"
                     "最应当依据的是",
                     tag, s->name, age, aspect);
        else
            snprintf(stem, sizeof stem,
                     "（演示题%d）患者，%s，%d岁。就诊时的表现符合%s的典型特点，就其%s而言，"
                     "最符合的是",
                     tag, gbelow(r, 2) ? "男" : "女", age, s->name, aspect);
        write_q(o, "A2", NULL, NULL, stem, opts, 5, ans, diff, NULL);
        return 1;
    }
    if (kind < 77) { /* X: several answers */
        int n = 0;
        for (int i = 0; i < 5; i++)
            if (gbelow(r, 2) || (i == 4 && n == 0)) ans[n++] = (char)('A' + i);
        ans[n] = 0;
        snprintf(stem, sizeof stem, "（演示题%d）下列关于%s%s的说法，正确的有", tag, s->name,
                 aspect);
        write_q(o, "X", NULL, NULL, stem, opts, 5, ans, diff, NULL);
        return 1;
    }
    (*group_seq)++;
    snprintf(gid, sizeof gid, "DEMO-%s-G%04d", o->gp->code, *group_seq);
    if (kind < 90) { /* A3 (2-3 members) or A4 (4-5) */
        int a4 = kind >= 85, members = a4 ? 4 + (int)gbelow(r, 2) : 2 + (int)gbelow(r, 2);
        const char *topic = opts[a];
        snprintf(case_text, sizeof case_text,
                 "（演示病例%d）患者，%s，%d岁，近期出现与%s相符的症状和体征，来院就诊。%s",
                 *group_seq, gbelow(r, 2) ? "男" : "女", 20 + (int)gbelow(r, 55), topic,
                 a4 ? "（假设信息将在各题中逐步给出）" : "");
        for (int m = 0; m < members; m++) {
            const char *mopts[5];
            pick_topics(r, s, mopts, 5);
            int ma = (int)gbelow(r, 5);
            char mans[2] = {(char)('A' + ma), 0};
            snprintf(stem, sizeof stem, "（第%d问）结合病例，关于%s，%s", m + 1, topic,
                     case_asks[m % 5]);
            write_q(o, a4 ? "A4" : "A3", gid, case_text, stem, mopts, 5, mans,
                    1 + (int)gbelow(r, 5), NULL);
        }
        return members;
    }
    /* B1: 2-3 members sharing the five options */
    int members = 2 + (int)gbelow(r, 2);
    for (int m = 0; m < members; m++) {
        int ma = (int)gbelow(r, 5);
        char mans[2] = {(char)('A' + ma), 0};
        snprintf(stem, sizeof stem, "（演示题%d-%d）%s属于%s的是", *group_seq, m + 1,
                 aspects[(m + (int)gbelow(r, 8)) % 8], s->name);
        write_q(o, "B1", gid, NULL, stem, opts, 5, mans, 1 + (int)gbelow(r, 5), NULL);
    }
    return members;
}

long qb_gen_demo(FILE *out, int per_section, uint64_t seed)
{
    gen_out o = {.f = out};
    grng r = {seed ^ 0x5eed5eed5eedULL};
    int group_seq = 0;
    for (size_t i = 0; i < NPAPERS_GEN; i++) {
        o.gp = &gen_papers[i];
        for (const gen_section *s = o.gp->sections; s->name; s++) {
            /* rows of one section split by type share one generated section */
            if (s != o.gp->sections && !strcmp(s[-1].name, s->name)) continue;
            o.s = s;
            for (int made = 0; made < per_section;)
                made += gen_unit(&o, &r, &group_seq);
        }
    }
    return o.lines;
}
