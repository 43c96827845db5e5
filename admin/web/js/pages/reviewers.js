// pages/reviewers.js - 信息审核员 (seed [000]: 分配、管理本机构信息审核员): the institution
// creates its reviewers (a name, a mobile), disables and enables them, resets their password
// to 666666 with a new one-time activation code (shown once, as the authority shows an
// institution's). A reviewer logs in with 账号类型「信息审核员」 and sees the review menus only.

import * as api from '../api.js';
import { h, card, form, btn, link, toast, modal, confirmBox, table, tag, fmtTime, showError, showActivation } from '../ui.js';

function accountModal(title, made) {
  return showActivation(
    title,
    [
      ['审核员', made.display_name || ''],
      ['登录账号', h('strong', { class: 'reviewer-login' }, made.username)],
      ['初始密码', made.initial_password],
      ['激活码', h('strong', { class: 'activation-code' }, made.activation_code)],
    ],
    '激活码仅显示这一次，请交给该审核员本人：首次登录时选择「信息审核员」，填写初始密码和激活码，并修改密码。',
  );
}

export async function page(ctx) {
  const box = h('div');
  const reload = async () => {
    const { items } = await api.get('/institution/reviewers' + api.qs({ page_size: 100 }));
    const t = table(
      [
        { title: '序号', render: (r, i) => i + 1, width: '60px' },
        { title: '姓名', key: 'display_name' },
        { title: '登录账号', key: 'username' },
        { title: '手机号码', key: 'mobile' },
        { title: '状态', render: (r) => tag(r.enabled ? '启用' : '停用', r.enabled ? 'green' : 'grey'), width: '80px' },
        { title: '密码', render: (r) => (r.must_change_password ? tag('待首次登录', 'orange') : tag('已修改', 'green')), width: '110px' },
        { title: '最近登录', render: (r) => (r.last_login_at ? fmtTime(r.last_login_at) : '—') },
        {
          title: '操作',
          width: '180px',
          render: (r) =>
            h(
              'div',
              { class: 'ops' },
              link(r.enabled ? '停用' : '启用', async () => {
                if (r.enabled && !(await confirmBox('停用审核员', `停用「${r.display_name}」（${r.username}）？停用后该账号立即退出登录、不能再登录。`, { danger: true, okText: '停用' }))) return;
                try {
                  await api.post(`/institution/reviewers/${r.id}/${r.enabled ? 'disable' : 'enable'}`);
                  toast(r.enabled ? '已停用' : '已启用');
                  reload();
                } catch (e) {
                  showError(e);
                }
              }),
              link('重置密码', async () => {
                if (!(await confirmBox('重置密码', `将「${r.display_name}」（${r.username}）的密码重置为 666666？该审核员下次登录时需修改密码。`))) return;
                try {
                  const made = await api.post(`/institution/reviewers/${r.id}/reset-password`);
                  await accountModal('密码已重置', { ...made, display_name: r.display_name });
                  reload();
                } catch (e) {
                  showError(e);
                }
              }),
            ),
        },
      ],
      items,
      { empty: '尚未创建信息审核员' },
    );
    box.replaceChildren(t.el);
  };
  await reload();
  const create = async () => {
    const f = form(
      [
        { name: 'display_name', label: '姓名', required: true, attrs: { maxlength: 32 } },
        { name: 'mobile', label: '手机号码', attrs: { maxlength: 20, inputmode: 'tel' } },
      ],
      { cols: 1 },
    );
    let made = null;
    const ok = await modal({
      title: '新增信息审核员',
      body: f.el,
      onOk: async () => {
        const v = f.check();
        const body = { display_name: v.display_name };
        if (v.mobile) body.mobile = v.mobile;
        made = await api.post('/institution/reviewers', body);
      },
    });
    if (ok && made) {
      await accountModal('信息审核员已创建', made);
      reload();
    }
  };
  return card(
    '信息审核员',
    h('div', null, h('p', { class: 'muted' }, '信息审核员代表本机构审核医师提交的信息（一般程序、简易程序、免考审核；本机构是考核机构时也可复核），审核记录中写明审核员姓名。审核员不能管理账号、医师和本机构信息。'), box),
    btn('新增审核员', create, 'primary'),
  );
}
