/** The console's own static files: its stylesheet and the two page scripts (the CSP allows nothing else). */

/** The stylesheet, served at /console.css (no inline styles: the pages' CSP allows only the console's own files). */
export const STYLE = `
:root{--fg:#1d2430;--muted:#677489;--line:#d9dee7;--bg:#f6f7f9;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--hi:#0b57d0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:18px;align-items:center;padding:10px 20px;background:#16202e;color:#fff}
header b{font-size:16px;letter-spacing:.5px}header a{color:#c8d3e6;text-decoration:none}header a.on{color:#fff;border-bottom:2px solid #fff}
header .who{margin-left:auto;font-size:12px;color:#c8d3e6}main{padding:16px 20px;max-width:1200px}
h1{font-size:18px;margin:4px 0 12px}h2{font-size:15px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f5;font-weight:600;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.off{background:#dafbe1;color:var(--ok)}.warning{background:#fff8c5;color:var(--warn)}.active{background:#ffebe9;color:var(--bad)}
.notice{padding:8px 12px;border-radius:6px;margin-bottom:12px}.notice.ok{background:#dafbe1}.notice.bad{background:#ffebe9}.notice.warn{background:#fff8c5}
.muted{color:var(--muted)}.bad{color:var(--bad)}code{font-size:12px}
form.inline{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;background:#fff;border:1px solid var(--line);padding:10px;border-radius:6px}
label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}input,select,textarea{font:inherit;padding:4px 6px;border:1px solid var(--line);border-radius:4px}
button{font:inherit;padding:5px 12px;border-radius:5px;border:1px solid #8c959f;background:#fff;cursor:pointer}button.danger{background:var(--bad);color:#fff;border-color:var(--bad)}
.chart{display:flex;flex-wrap:wrap;gap:6px;background:#fff;border:1px solid var(--line);padding:10px;border-radius:6px}
.st{border:1px solid #9aa6b8;border-radius:8px;padding:4px 8px;background:#fff;min-width:80px}
.st.compound{background:#f7f9fc}.st>.name{font-size:12px;font-weight:600}.st>.kids{display:flex;flex-wrap:wrap;gap:6px;margin-top:4px}
.st.final>.name::after{content:" ◉";color:var(--muted)}
.st.here{border:2px solid var(--hi);background:#e8f0fe}.st.within{border-color:var(--hi)}
.st .who{display:block;font-size:11px;color:var(--hi);font-weight:600}
.timeline td:first-child,.timeline td:nth-child(2){white-space:nowrap}.timeline code{word-break:break-all}
.statusbar{display:flex;flex-wrap:wrap;gap:14px;align-items:center;padding:6px 20px;background:#fff;border-bottom:1px solid var(--line);font-size:13px}
.statusbar .scope{display:inline-flex;gap:4px;align-items:center}.statusbar .holds{font-size:11px;color:var(--muted)}
.statusbar form{margin-left:auto}.hold+.hold::before{content:" · "}.local{color:var(--muted);font-size:12px}
.summary{display:grid;grid-template-columns:max-content auto;gap:2px 14px;background:#fff;border:1px solid var(--line);padding:10px;border-radius:6px;margin-bottom:10px}
.summary dt{color:var(--muted)}.summary dd{margin:0}.pager{display:flex;gap:12px;align-items:center;margin:8px 0}
tr.differs td{background:#fff8c5}
td.use.near{background:#fff8c5;font-weight:600}td.use.over{background:#ffebe9;color:var(--bad)}
`;

/** Served at /live.js: replaces the live section and the status bar whenever the server says the journal moved. */
export const LIVE_SCRIPT = `
(() => {
  const source = new EventSource('/events');
  source.addEventListener('now', (e) => {
    const data = JSON.parse(e.data);
    const target = document.getElementById('live');
    if (target) { target.innerHTML = data.html; target.dataset.sequence = data.sequence; }
    const status = document.getElementById('status-live');
    if (status && data.status) status.innerHTML = data.status;
  });
})();`;

/** Served at /clock.js: the viewer's local time beside each UTC time, and ages and deadlines that tick. */
export const CLOCK_SCRIPT = `
(() => {
  const pad = (n) => String(n).padStart(2, '0');
  const local = (d) => d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  const ago = (ms) => ms < 1000 ? 'just now' : ms < 60000 ? Math.floor(ms / 1000) + ' s ago' : ms < 3600000 ? Math.floor(ms / 60000) + ' min ago' : ms < 86400000 ? Math.floor(ms / 3600000) + ' h ago' : Math.floor(ms / 86400000) + ' d ago';
  // Ages and deadlines on the console's clock, not the viewer's: a browser whose clock differs from
  // the server's would otherwise show ages that are off, or that never move.
  const serverNow = Number(document.body.dataset.serverNow);
  const offset = Number.isFinite(serverNow) ? serverNow - Date.now() : 0;
  const tick = () => {
    const now = Date.now() + offset;
    for (const el of document.querySelectorAll('time[datetime]:not([data-local])')) {
      const d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) continue;
      el.dataset.local = '1';
      const span = document.createElement('span');
      span.className = 'local';
      span.textContent = ' · ' + local(d) + ' local';
      el.after(span);
    }
    for (const el of document.querySelectorAll('[data-since]')) {
      const t = Date.parse(el.dataset.since);
      if (!isNaN(t)) el.textContent = ago(now - t);
    }
    for (const el of document.querySelectorAll('[data-deadline]')) {
      const t = Number(el.dataset.deadline);
      if (Number.isFinite(t)) el.textContent = t > now ? ((t - now) / 1000).toFixed(1) + ' s' : 'passed';
    }
  };
  tick();
  setInterval(tick, 500);
})();`;
