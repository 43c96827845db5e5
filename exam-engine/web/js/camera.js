// camera.js - the webcam: the live preview, the checks a frame must pass before the
// test starts (a live track, not too dark, not blank), JPEG captures, and the capture
// loop that sends a photo at each time the server picks (next_capture_at, in server
// time). When the camera is lost the loop says so and keeps trying to reopen it; the
// test's clock does not stop for it. Photos go only to the exam engine.

import * as api from './api.js';
import * as clock from './clock.js';

const DARK_LUMA = 45; // mean luma (0-255) below which a frame is too dark
const BLANK_STDDEV = 8; // a covered lens or a blank picture has almost no contrast

export function cameraErrorMessage(e) {
  const name = e && e.name;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    return '当前浏览器或连接方式不支持摄像头（需要 https 安全连接和较新版本的浏览器）。请更换浏览器，或联系考点管理员。';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return '浏览器没有允许本网站使用摄像头。请点击地址栏中的摄像头图标，选择“始终允许”，然后点击“重新打开摄像头”。';
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return '没有找到摄像头。请连接摄像头后点击“重新打开摄像头”。';
  if (name === 'NotReadableError' || name === 'AbortError')
    return '摄像头正被其他程序使用（如视频会议软件）。请关闭该程序后点击“重新打开摄像头”。';
  return '无法打开摄像头，请检查摄像头连接后重试。';
}

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.onchange = () => {};
  }

  // a track that delivers frames (the <video> showing it may still be loading)
  live() {
    const t = this.stream && this.stream.getVideoTracks()[0];
    return !!(t && t.readyState === 'live' && t.enabled && !t.muted);
  }

  // waits (at most ms) until the <video> has a frame to draw
  async ready(ms = 5000) {
    for (let i = 0; i < ms / 100 && !(this.video.videoWidth > 0 && this.video.readyState >= 2); i++) await api.sleep(100);
    return this.video.videoWidth > 0;
  }

  // shows the stream in another <video> (the exam page's self-view)
  attach(video) {
    this.video = video;
    video.muted = true;
    video.playsInline = true;
    video.srcObject = this.stream;
    if (this.stream) video.play().catch(() => {});
  }

  async open() {
    this.close();
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' },
      audio: false,
    });
    this.stream = stream;
    const track = stream.getVideoTracks()[0];
    if (track) {
      track.addEventListener('ended', () => this.onchange('ended'));
      track.addEventListener('mute', () => this.onchange('mute'));
      track.addEventListener('unmute', () => this.onchange('unmute'));
    }
    this.video.srcObject = stream;
    this.video.muted = true;
    this.video.playsInline = true;
    await this.video.play().catch(() => {});
    await this.ready();
    this.onchange('open');
  }

  close() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    if (this.video) this.video.srcObject = null;
  }

  // Mean and spread of the luma of the current frame, on a small copy.
  frameStats() {
    const w = 80,
      h = 60;
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(this.video, 0, 0, w, h);
    const px = g.getImageData(0, 0, w, h).data;
    let sum = 0,
      sq = 0;
    const n = w * h;
    for (let i = 0; i < px.length; i += 4) {
      const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
      sum += y;
      sq += y * y;
    }
    const mean = sum / n;
    return { mean, stddev: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
  }

  // The local verdict on the current frame: null if usable, else a message.
  localProblem() {
    if (!this.live() || !(this.video.videoWidth > 0)) return { flag: 'no_video', message: '没有收到摄像头画面。请检查摄像头是否连接、镜头是否被遮挡。' };
    const s = this.frameStats();
    if (s.mean < DARK_LUMA) return { flag: 'too_dark', message: '画面太暗。请打开照明或面向光源，让面部清晰可见。' };
    if (s.stddev < BLANK_STDDEV) return { flag: 'blank', message: '画面没有内容，镜头可能被遮挡。请移开遮挡物，正对摄像头。' };
    return null;
  }

  // The current frame as a JPEG (at most 640 px wide).
  async jpeg(quality = 0.85) {
    if (!(await this.ready())) throw new Error('摄像头没有画面');
    const vw = this.video.videoWidth,
      vh = this.video.videoHeight;
    const scale = Math.min(1, 640 / vw);
    const c = document.createElement('canvas');
    c.width = Math.round(vw * scale);
    c.height = Math.round(vh * scale);
    c.getContext('2d').drawImage(this.video, 0, 0, c.width, c.height);
    return new Promise((resolve, reject) =>
      c.toBlob((b) => (b ? resolve(b) : reject(new Error('jpeg'))), 'image/jpeg', quality),
    );
  }
}

// The server's face check (POST /api/v1/camera-check, answering {"ok","faces","flag",
// "message","degraded"}): {ok: true}, {ok: false, message}, or null when it cannot
// decide and the page's own check stands: a server without the check (404, asked once
// per page load), one whose face engine is in degraded mode (it only counts faces with
// cascades and flags nothing), or one that stays busy or has had enough checks from this
// physician for a while (429 beyond a minute). 503 waits with onWait. The answer never
// carries a similarity: pass or fail and why.
let serverCheck = 'unknown';
// The proctor's quality gate (issue 14): why a frame cannot be judged and a new one is
// needed. The camera check's reply carries its own message; captures during the test
// learn the reason from GET .../captures/{id} (CaptureLoop.followUp).
export const RETAKE_MESSAGES = {
  too_small: '人脸太小：请靠近摄像头，让面部完整地占据画面中央。',
  blurred: '画面模糊：请保持头部不动，擦拭镜头。',
  too_dark: '画面太暗：请打开照明或面向光源，让面部清晰可见。',
  too_bright: '画面过亮：请避免强光直射镜头或背对窗户。',
  turned: '请正对摄像头，头部不要偏向一侧。',
};
const FLAG_MESSAGES = {
  no_face: '未检测到人脸。请正对摄像头，让面部完整出现在画面中央，并保证光线充足。',
  multiple_faces: '画面中检测到多张人脸。考试期间画面中只能有考生本人，请其他人离开画面。',
  too_dark: '画面太暗。请打开照明或面向光源，让面部清晰可见。',
};
// The liveness challenge (issue 14): after a frame facing the camera, the page asks to
// turn the head left, then right, and takes a frame CHALLENGE_TURN_MS after each prompt
// (about 3 s in all); the server compares the turns with the front frame.
export const CHALLENGE_TURN_MS = 1400;
export const CHALLENGE_PROMPTS = [
  ['left', '活体检测：请缓慢向左转头 ←'],
  ['right', '活体检测：请缓慢向右转头 →'],
];

// The liveness challenge's frames (facing, head turned left, right) as one body: each JPEG
// preceded by its length, 4 bytes big-endian (exam_camera.c).
export async function challengeBody(blobs) {
  const parts = [];
  for (const b of blobs) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, b.size);
    parts.push(len, b);
  }
  return new Blob(parts, { type: 'application/octet-stream' });
}

// blob: one JPEG (the face check), or the challenge's frames [front, left, right]
// (POST /api/v1/camera-check/liveness: the face check on the front frame, then the turns).
export async function serverVerdict(blob, onWait) {
  if (serverCheck === 'absent') return null;
  let r;
  const url = Array.isArray(blob) ? '/api/v1/camera-check/liveness' : '/api/v1/camera-check';
  const body = Array.isArray(blob) ? await challengeBody(blob) : blob;
  try {
    r = await api.retrying(() => api.post(url, body), { onWait, maxAttempts: 5 });
  } catch (e) {
    if (e.status === 404) {
      serverCheck = 'absent';
      return null;
    }
    if (e.status === 401 || e.status === 403) throw e;
    if (e.status === 413 || e.status === 422) return { ok: false, message: e.message };
    return null; // the network or a server that stays busy: the local check decides
  }
  serverCheck = 'present';
  const ok = r.ok === true || (r.ok === undefined && Number(r.faces) === 1 && !r.flag);
  if (ok) return { ok: true, degraded: !!r.degraded, liveness: r.liveness };
  if (r.degraded) return null;
  if (r.liveness && r.liveness !== 'passed') return { ok: false, liveness: r.liveness, message: r.message };
  if (r.flag === 'retake') return { ok: false, retake: r.retake, message: r.message || RETAKE_MESSAGES[r.retake] };
  return { ok: false, message: FLAG_MESSAGES[r.flag] || r.message || FLAG_MESSAGES.no_face };
}

// Sends captures at the times the server picks (a capture sent early, e.g. right after a
// reload, gets 429 with next_capture_at and waits for it). status(kind, text) reports
// 'ok' / 'lost' / 'retry' / 'retake'. Stops for good on stop() or when the session is
// closed. After each accepted capture it asks the proctor's word on it (followUp): a
// frame the quality gate refused (too small, blurred, dark, bright, turned) is 'retake'
// with the reason, and a new capture goes at once.
export class CaptureLoop {
  constructor(camera, sessionId, status) {
    this.camera = camera;
    this.sid = sessionId;
    this.status = status;
    this.timer = null;
    this.stopped = false;
    this.busy = false;
    this.reopening = false;
    this.sent = 0;
    this.dueAt = null; // server time of the next capture
    // a track can end without an event (stopped by the system or a driver): look often
    this.watchdog = setInterval(() => {
      if (!this.stopped && !this.reopening && !this.camera.live()) {
        this.status('lost', '摄像头连接中断，正在重新连接……请检查摄像头（考试计时不会暂停）');
        this.reopen();
      }
    }, 3000);
    camera.onchange = (why) => {
      if (this.stopped) return;
      if (why === 'ended' || why === 'mute') {
        this.status('lost', '摄像头连接中断，正在重新连接……请检查摄像头（考试计时不会暂停）');
        this.reopen();
      } else if (why === 'unmute' || why === 'open') {
        if (this.camera.live()) this.status('ok', '摄像头正常');
      }
    };
  }

  // first capture right away (start or resume), or within firstWithinMs (a release from
  // the waiting room: thousands start at once, their first photos spread over a minute),
  // then as the server says
  start(firstWithinMs = 0) {
    if (this.camera.live()) {
      this.schedule(firstWithinMs > 0 ? 3000 + Math.random() * firstWithinMs : 0);
    } else {
      this.status('opening', '正在打开摄像头……');
      this.reopen();
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.shoot(), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }

  async reopen() {
    if (this.reopening || this.stopped) return;
    this.reopening = true;
    while (!this.stopped && !this.camera.live()) {
      try {
        await this.camera.open();
      } catch (e) {
        this.status('lost', '摄像头不可用：' + cameraErrorMessage(e) + '（系统每 5 秒自动重试，考试计时不会暂停）');
      }
      if (!this.camera.live()) await api.sleep(5000);
    }
    this.reopening = false;
    if (!this.stopped && this.camera.live()) {
      this.status('ok', '摄像头正常');
      // a capture that fell due while the camera was away goes now
      if (this.dueAt === null || clock.until(this.dueAt) <= 0) this.schedule(500);
    }
  }

  async shoot() {
    if (this.stopped || this.busy) return;
    if (!navigator.onLine) {
      // no request while the browser knows it is offline: the photo waits for the network
      this.status('retry', '照片待上传（网络中断，恢复后自动上传）');
      window.addEventListener('online', () => this.schedule(1000 + Math.random() * 4000), { once: true });
      return;
    }
    if (!this.camera.live()) {
      this.status('lost', '没有摄像头画面，正在重新连接……请检查摄像头（考试计时不会暂停）');
      this.reopen();
      return;
    }
    this.busy = true;
    try {
      const blob = await this.camera.jpeg();
      const r = await api.post('/api/v1/sessions/' + this.sid + '/captures', blob);
      this.sent++;
      this.dueAt = r.next_capture_at;
      this.status('ok', '摄像头正常');
      this.schedule(clock.until(r.next_capture_at));
      if (r.capture_id) this.followUp(r.capture_id);
    } catch (e) {
      if (e.status === 409 || e.status === 404) {
        this.stop();
      } else if (e.status === 429 && e.detail && e.detail.next_capture_at) {
        // too early for the server (a reload, a retry after a stored capture): it names
        // its time, and the capture goes then
        this.dueAt = e.detail.next_capture_at;
        this.status('ok', '摄像头正常');
        this.schedule(clock.until(e.detail.next_capture_at));
      } else if (e.status === 401 || e.status === 403) {
        this.schedule(30000);
      } else {
        // the network or a busy server: try again soon with a fresh photo
        if (e.network) this.status('retry', '照片待上传（网络中断，恢复后自动上传）');
        this.schedule(api.backoff(e, 3));
      }
    } finally {
      this.busy = false;
    }
  }

  // A liveness challenge the proctor asked for at a random moment: the camera check's
  // turns, prompted over the questions; the frames go to POST .../liveness, which records
  // the outcome for the invigilators. status('challenge', text) while it runs,
  // status('challenge-done', text) at the end.
  async challenge() {
    // offline: the ask stays pending and a later capture's follow-up sees it again
    if (this.challenging || this.stopped || !this.camera.live() || !navigator.onLine) return;
    this.challenging = true;
    try {
      const frames = [await this.camera.jpeg()];
      for (const [, text] of CHALLENGE_PROMPTS) {
        this.status('challenge', text);
        await api.sleep(CHALLENGE_TURN_MS);
        frames.push(await this.camera.jpeg());
      }
      this.status('challenge', '请回正，正在核验……');
      if (!navigator.onLine) { // went offline meanwhile: no request the browser knows will fail
        this.status('challenge-done', null);
        return;
      }
      const r = await api.post('/api/v1/sessions/' + this.sid + '/liveness', await challengeBody(frames));
      this.status('challenge-done', r.ok ? '活体检测已完成，请继续作答。' : r.message || '活体检测未通过。');
    } catch (e) {
      this.status('challenge-done', e.status === 409 ? null : '活体检测没有完成，请继续作答。');
    } finally {
      this.challenging = false;
    }
  }

  // The proctor scores a capture within seconds of its upload (its queue's lag): ask at
  // 3, 6 and 12 s until it has. A retake brings the next capture forward (the server did
  // too: it will not be early). Errors are ignored: the schedule stands.
  async followUp(id) {
    for (const wait of [3000, 3000, 6000]) {
      await api.sleep(wait);
      if (this.stopped) return;
      if (!navigator.onLine) continue; // no request the browser knows will fail
      let r;
      try {
        r = await api.get('/api/v1/sessions/' + this.sid + '/captures/' + id);
      } catch (e) {
        return;
      }
      if (r.challenge && r.live) this.challenge();
      if (!r.scored) continue;
      if (r.retake && r.live) {
        this.status('retake', '照片需要重拍：' + (RETAKE_MESSAGES[r.retake] || '照片质量不足。') + '系统将自动重新拍照。');
        this.retakes = (this.retakes || 0) + 1;
        // at most a few in a row at once, then the usual schedule: no loop on a bad camera
        if (this.retakes <= 3) this.schedule(2000);
      } else {
        this.retakes = 0;
      }
      return;
    }
  }
}
