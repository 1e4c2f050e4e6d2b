// The open widget's styles (the launcher's are in switchboard.js), adopted by the
// shadow root as a constructable stylesheet: the host page's CSS does not reach them.

// Where the panel fills the screen (and is modal).
export const PHONE_SCREEN = '(max-width: 480px), (max-height: 500px)';

export const PANEL_CSS = `
input,
select,
textarea {
  font: inherit;
  color: inherit;
  margin: 0;
}

button:disabled {
  opacity: .6;
}

.vh {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip-path: inset(50%);
  white-space: nowrap;
}

.panel,
.invite {
  position: fixed;
  right: 20px;
  bottom: 92px;
  z-index: 2147483001;
  background: #fff;
  box-shadow: 0 12px 40px #0004;
  border-radius: 14px;
}

.panel {
  width: 380px;
  height: min(620px, calc(100vh - 112px));
  display: flex;
  flex-direction: column;
  overflow: hidden;
}

.invite {
  width: 300px;
  padding: 16px;
}

.invite p {
  margin: 0 0 12px;
}

header {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 12px 8px 12px 16px;
  background: var(--a);
  color: #fff;
}

header>div {
  flex: 1;
  min-width: 0;
}

h2 {
  margin: 0;
  font-size: 16px;
}

.sub {
  margin: 0;
  font-size: 13px;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}

header button {
  background: none;
  color: #fff;
  border: 1px solid #fffb;
  border-radius: 8px;
  padding: 4px 10px;
  font-size: 13px;
}

header .x {
  border: 0;
  padding: 4px;
  display: grid;
}

.confirm {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 10px 16px;
  background: #fff6e0;
}

.confirm p {
  margin: 0;
  flex: 1;
}

.status,
.typing {
  margin: 0;
  padding: 8px 16px;
  font-size: 13px;
  color: var(--mut);
}

.status {
  background: var(--soft);
  border-bottom: 1px solid var(--line);
}

.botbar {
  display: flex;
  gap: 8px;
  align-items: center;
  justify-content: space-between;
  padding: 8px 16px;
  font-size: 13px;
  background: var(--soft);
  border-bottom: 1px solid var(--line);
}

.botbar[hidden] {
  display: none;
}

.typing {
  padding-top: 2px;
  font-style: italic;
}

:is(.sub, .status, .typing, .err):empty {
  display: none;
}

.scroll {
  flex: 1;
  overflow-y: auto;
  padding: 14px;
  overscroll-behavior: contain;
}

.log {
  list-style: none;
  margin: 0;
  padding: 0;
  display: flex;
  flex-direction: column;
  gap: 10px;
}

.msg {
  display: flex;
  flex-direction: column;
  max-width: 84%;
  align-self: flex-start;
}

.msg.customer {
  align-self: flex-end;
  align-items: flex-end;
}

.msg.system {
  align-self: center;
  flex-direction: row;
  gap: 6px;
  align-items: baseline;
  max-width: 100%;
  font-size: 13px;
  color: var(--mut);
}

.bubble,
.invite p {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}

.bubble {
  padding: 8px 12px;
  border-radius: 16px 16px 16px 4px;
  background: var(--soft);
}

.customer .bubble {
  background: var(--a);
  color: #fff;
  border-radius: 16px 16px 4px;
}

.redacted .bubble {
  font-style: italic;
  opacity: .8;
}

.rich p {
  margin: 0 0 6px;
}

.rich-card + .rich-card {
  margin-top: 10px;
  padding-top: 10px;
  border-top: 1px solid var(--line);
}

.card-image {
  display: block;
  max-width: 100%;
  border-radius: 8px;
  margin-bottom: 6px;
}

.card-title {
  font-weight: 600;
}

.choices {
  display: flex;
  flex-wrap: wrap;
  gap: 6px;
}

.choice {
  font: inherit;
  padding: 4px 10px;
  border: 1px solid var(--a);
  border-radius: 14px;
  background: #fff;
  color: var(--a);
  cursor: pointer;
  text-decoration: none;
}

.choice:disabled {
  opacity: .6;
  cursor: default;
}

.customer a {
  color: #fff;
}

.system .bubble {
  background: none;
  padding: 0;
}

.system .meta {
  margin: 0;
}

.meta {
  display: flex;
  gap: 6px;
  margin-top: 2px;
  font-size: 12px;
  color: var(--mut);
}

.tick::after {
  content: "○";
}

[data-state=sent]::after {
  content: "✓";
}

[data-state=failed]::after {
  content: "!";
}

.failed .meta {
  color: var(--bad);
}

.meta button {
  border: 0;
  background: none;
  padding: 0;
  color: var(--a);
  text-decoration: underline;
}

.composer {
  display: flex;
  gap: 8px;
  align-items: flex-end;
  padding: 10px 12px;
  border-top: 1px solid var(--line);
}

.composer textarea {
  flex: 1;
  min-height: 42px;
  resize: none;
}

.attach {
  align-self: center;
  border: 0;
  background: none;
  font-size: 20px;
  padding: 4px;
}

.upload {
  display: flex;
  flex-wrap: wrap;
  gap: 8px;
  align-items: center;
  padding: 6px 12px 0;
  font-size: 13px;
}

.upload progress {
  flex: 1;
}

.upload-error {
  margin: 0;
  color: var(--bad);
}

.dropping {
  outline: 2px dashed var(--a);
  outline-offset: -6px;
}

.thumb {
  display: block;
  max-width: 100%;
  max-height: 240px;
  border-radius: 8px;
}

textarea,
.field {
  padding: 9px 11px;
  border: 1px solid #aeb7c6;
  border-radius: 8px;
  background: #fff;
}

.field {
  width: 100%;
}

.btn {
  border: 0;
  border-radius: 10px;
  padding: 9px 16px;
  background: var(--a);
  color: #fff;
  font-weight: 600;
}

.alt {
  background: #fff;
  color: inherit;
  border: 1px solid #aeb7c6;
}

.intro {
  margin: 0;
  color: var(--mut);
}

label {
  display: block;
  margin: 12px 0 4px;
  font-size: 13px;
  font-weight: 600;
}

[aria-invalid=true] {
  border-color: var(--bad);
  box-shadow: 0 0 0 1px var(--bad);
}

.err {
  margin: 4px 0 0;
  font-size: 13px;
  color: var(--bad);
}

.transcript-mail {
  margin-top: 12px;
  font-size: 13px;
}

.transcript-mail p:empty {
  display: none;
}

.check {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 8px;
  margin-top: 12px;
}

.check .err {
  flex-basis: 100%;
}

.prechat .btn {
  margin-top: 16px;
  width: 100%;
}

fieldset {
  margin: 14px 0 0;
  border: 1px solid var(--line);
  border-radius: 12px;
}

legend {
  font-weight: 600;
}

.stars {
  display: flex;
}

.stars label {
  margin: 0;
  font-size: 30px;
  line-height: 1;
  color: #b9c0cc;
}

.stars label:has(~ label :checked, :checked) {
  color: #e8a400;
}

.stars input {
  position: absolute;
  opacity: 0;
}

.stars input:focus-visible + span {
  outline: 3px solid #f5a623;
}

.csat .btn {
  margin-top: 12px;
}

.thanks {
  text-align: center;
  font-weight: 600;
}

.newchat {
  display: block;
  margin: 16px auto 0;
}

@media ${PHONE_SCREEN} {
  .panel {
    inset: 0;
    width: auto;
    height: auto;
    border-radius: 0;
  }
  .invite {
    right: 14px;
    width: calc(100vw - 28px);
  }
  textarea,
  .field {
    font-size: 16px;
  }
}

@media (prefers-reduced-motion: no-preference) {
  .panel,
  .invite {
    animation: sb-in .16s;
  }
}

@keyframes sb-in {
  from {
    opacity: 0;
    transform: translateY(10px);
  }
}
`;
