// Files in a chat, for the widget and the desk alike: the upload (XMLHttpRequest, which
// reports its progress and can be cancelled), the controls that start one (a labelled file
// button, paste and drag-and-drop) and how a file shows in the conversation. A file's name
// is always text, and its content is never drawn: an image shows as its server-made
// thumbnail, anything else as a download link.
import { element } from './elements.js';

const STATUS_WORDS = { 401: 'notAllowed', 403: 'notAllowed', 413: 'tooLarge', 415: 'badType', 503: 'busy' };
/** The words `fileControls` and `attachmentView` take (`words[key]`). */
export const FILE_WORDS = [
  'attach', 'uploading', 'cancelUpload', 'cancelled', 'tooLarge', 'badType', 'notAllowed', 'busy', 'uploadFailed',
  'image', 'file',
];
const KB = 1024;

/** `server` + the file's (relative) signed URL; the widget runs on another site's page. */
function absolute(server, url) {
  return /^https?:\/\//.test(url) ? url : server + url;
}

export function fileSize(bytes) {
  if (bytes < KB) {
    return bytes + ' B';
  }
  const kilobytes = bytes / KB;
  return kilobytes < KB ? Math.round(kilobytes) + ' KB' : (kilobytes / KB).toFixed(1) + ' MB';
}

/** What a message of kind `attachment` shows: the thumbnail in a link, or a link with the name. */
export function attachmentView(attachment, server, words) {
  const url = absolute(server, String(attachment.url));
  const name = String(attachment.name);
  const link = { href: url, target: '_blank', rel: 'noopener noreferrer', cls: 'file' };
  if (attachment.thumbnail_url) {
    return element('a', link, [
      element('img', { src: absolute(server, String(attachment.thumbnail_url)), alt: words.image, cls: 'thumb' }),
      element('span', { cls: 'file-name' }, name),
    ]);
  }
  return element('a', { ...link, download: name }, [
    element('span', { cls: 'file-name' }, name),
    element('span', { cls: 'file-size' }, ' (' + fileSize(Number(attachment.size) || 0) + ')'),
  ]);
}

/**
 * Sends `file` into conversation `cid` with the sender's `token` (visitor or agent); reports
 * `onProgress(fraction)`. Resolves with the server's answer, rejects with `{status, cancelled?}`.
 */
function upload(server, cid, token, file, onProgress) {
  const request = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    request.open('POST', server + '/api/v1/conversations/' + encodeURIComponent(cid) + '/attachments');
    request.setRequestHeader('Authorization', 'Bearer ' + token);
    request.responseType = 'json';
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) {
        onProgress(event.loaded / event.total);
      }
    };
    request.onload = () => (request.status === 201 ? resolve(request.response) : reject({ status: request.status }));
    request.onerror = () => reject({ status: 0 });
    request.onabort = () => reject({ status: 0, cancelled: true });
    const form = new FormData();
    form.append('file', file, file.name || 'file');
    request.send(form);
  });
  return { done, cancel: () => request.abort() };
}

/**
 * The upload controls. `target()` gives `{cid, token}` while files may be sent (else null);
 * files come from the file button, or pasted into `pasteZone`, or dropped on `dropZone`.
 * Returns `{button, input, bar}` to place; `bar` shows the progress, Cancel and any refusal.
 */
export function fileControls({ words, server, target, dropZone, pasteZone, onSent }) {
  // opened by the button (a hidden file input still opens its picker when clicked)
  const input = element('input', { type: 'file', hidden: true, onchange: picked });
  const button = element('button', { cls: 'attach', 'aria-label': words.attach, title: words.attach, onclick: () => input.click() }, '📎');
  const progress = element('progress', { max: '1', value: '0', 'aria-label': words.uploading });
  const name = element('span', { cls: 'upload-name' });
  const cancelButton = element('button', { cls: 'upload-cancel' }, words.cancelUpload);
  const message = element('p', { cls: 'upload-error', role: 'alert' });
  const bar = element('div', { cls: 'upload', hidden: true }, [name, progress, cancelButton, message]);
  let current = null;

  function show(text, uploading) {
    bar.hidden = !text && !uploading;
    progress.hidden = !uploading;
    cancelButton.hidden = !uploading;
    name.hidden = !uploading;
    message.textContent = uploading ? '' : text;
  }

  async function send(file) {
    const to = target();
    if (!to || current) {
      return;
    }
    name.textContent = file.name || words.file;
    progress.value = 0;
    show('', true);
    current = upload(server, to.cid, to.token, file, (fraction) => { progress.value = fraction; });
    cancelButton.onclick = current.cancel;
    try {
      const sent = await current.done;
      show('', false);
      if (onSent) {
        onSent(sent);
      }
    } catch (error) {
      show(error.cancelled ? words.cancelled : words[STATUS_WORDS[error.status] || 'uploadFailed'], false);
    } finally {
      current = null;
    }
  }

  function picked() {
    const [file] = input.files;
    input.value = '';
    if (file) {
      send(file);
    }
  }

  pasteZone.addEventListener('paste', (event) => {
    const file = [...(event.clipboardData?.files || [])][0];
    if (file && target()) {
      event.preventDefault();
      send(file);
    }
  });
  dropZone.addEventListener('dragover', (event) => {
    if (target() && [...event.dataTransfer.types].includes('Files')) {
      event.preventDefault();
      dropZone.classList.add('dropping');
    }
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dropping'));
  dropZone.addEventListener('drop', (event) => {
    dropZone.classList.remove('dropping');
    const file = [...(event.dataTransfer?.files || [])][0];
    if (file) {
      event.preventDefault();
      send(file);
    }
  });
  return { button, input, bar };
}
