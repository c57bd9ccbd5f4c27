/**
 * The portal's stylesheet, served like the script from a content-hashed path (so the CSP needs no
 * inline styles). Calm and plain: system fonts, one accent, text contrast of at least 7:1 on white
 * for body text and 4.5:1 for everything else, a visible focus ring on every control, status shown
 * in words as well as colour, and nothing that moves.
 */
export const PORTAL_CSS = `
:root{--fg:#1b1f24;--muted:#4d5661;--line:#d0d7de;--soft:#f6f8fa;--accent:#0b57d0;--accent-fg:#fff;--ok:#116329;--ok-bg:#dafbe1;--warn:#7a4a00;--warn-bg:#fff1cc;--bad:#a40e26;--bad-bg:#ffebe9;--off:#424a53;--off-bg:#eaeef2;--focus:#0b57d0}
*{box-sizing:border-box}
html{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
body{margin:0}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible,textarea:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0}
.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.25rem .5rem;z-index:2}
.top{display:flex;align-items:center;gap:1.5rem;padding:.75rem 1.5rem;border-bottom:1px solid var(--line);background:var(--soft)}
.brand{font-weight:700;font-size:1.15rem;text-decoration:none;color:var(--fg)}
.top nav a{text-decoration:none;color:var(--fg);padding:.25rem .5rem;border-radius:6px}
.top nav a[aria-current=page]{background:#fff;border:1px solid var(--line)}
.who{margin-left:auto;display:flex;align-items:center;gap:.75rem;color:var(--muted);font-size:.95rem}
.who form{margin:0}
main{max-width:64rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem;margin:.5rem 0 .25rem}
h2{font-size:1.15rem;margin:2rem 0 .5rem}
h3{font-size:1rem;margin:1.25rem 0 .5rem}
.lede,.hint,.muted{color:var(--muted)}
.hint{font-size:.9rem;margin:.25rem 0 0}
.id{font:.9rem ui-monospace,SFMono-Regular,Menlo,monospace;color:var(--muted)}
code,pre{font:.9rem ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.75rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);font-weight:600}
.badge{display:inline-block;font-size:.8rem;font-weight:600;padding:.05rem .5rem;border-radius:999px;border:1px solid currentColor;white-space:nowrap}
.s-online,.s-applied,.s-active{color:var(--ok);background:var(--ok-bg)}
.s-pending{color:var(--warn);background:var(--warn-bg)}
.s-failed,.s-revoked{color:var(--bad);background:var(--bad-bg)}
.s-offline,.s-cluster_offline,.s-expired{color:var(--off);background:var(--off-bg)}
.detail{display:block;color:var(--bad);font-size:.85rem;margin-top:.25rem}
.notice{border:1px solid var(--line);border-left:4px solid var(--accent);background:var(--soft);padding:.75rem 1rem;border-radius:6px;margin:1rem 0}
.notice.warn{border-left-color:#9a6700}
.panel{border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
.danger{border-color:#f2b8b5}
form.stack{display:grid;gap:.9rem;max-width:34rem}
.field label,.field legend{display:block;font-weight:600;margin-bottom:.25rem}
fieldset{border:0;padding:0;margin:0}
fieldset label{font-weight:400;margin-right:1rem}
.checks label{display:flex;gap:.5rem;align-items:center;font-weight:400}
input[type=email],input[type=text],input[type=datetime-local],select,textarea{font:inherit;padding:.4rem .55rem;border:1px solid #8c959f;border-radius:6px;min-width:16rem;max-width:100%;background:#fff;color:var(--fg)}
input:invalid:not(:placeholder-shown){border-color:var(--bad)}
textarea{width:100%;min-height:10rem;font:.85rem ui-monospace,monospace}
button{font:inherit;padding:.4rem .9rem;border-radius:6px;border:1px solid #8c959f;background:#fff;color:var(--fg);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg)}
button.danger{color:var(--bad);border-color:var(--bad)}
button.link{border:0;background:none;color:var(--accent);text-decoration:underline;padding:0}
button[disabled]{opacity:.6;cursor:not-allowed}
.actions{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}
[role=status]:empty,[role=alert]:empty{display:none}
.result{margin-top:.5rem}
.plain{list-style:none;margin:0;padding:0}
.error{color:var(--bad)}
dialog{border:1px solid var(--line);border-radius:8px;max-width:32rem;padding:1.25rem}
dialog::backdrop{background:rgba(27,31,36,.5)}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){.top{flex-wrap:wrap}.who{margin-left:0}th,td{padding:.4rem}}
`;
