/* Files in the desk: the composer's file button, paste and drag-and-drop onto the open
 * conversation, and a file message's thumbnail or download link. The upload itself and
 * the views are the widget's (chat/attachments.js); the desk gives its words and says
 * when a file may go: into a conversation it may write to, not as an internal note. */

import { $, h } from '../lib/dom.js';
import { labels } from '../lib/i18n.js';
import { attachmentView, fileControls } from '../chat/attachments.js';
import { S } from './state.js';
import { writable } from './facts.js';

// The widget's file views take their words from this object: the desk's catalogue keys.
const WORDS = labels({
  attach: 'fileAttach',
  uploading: 'fileUploading',
  cancelUpload: 'fileCancelUpload',
  cancelled: 'fileCancelled',
  tooLarge: 'fileTooLarge',
  badType: 'fileBadType',
  notAllowed: 'fileNotAllowed',
  busy: 'fileBusy',
  uploadFailed: 'fileUploadFailed',
  image: 'fileImage',
  file: 'fileFile',
});

function target() {
  const conv = S.active && S.convs.get(S.active);
  return writable(conv) && !$('note-toggle').checked && S.token ? { cid: conv.id, token: S.token } : null;
}

/** Puts the file button into the composer's tools and the progress bar above the compose box. */
export function setUpAttachments() {
  const controls = fileControls({ words: WORDS, server: '', target, dropZone: $('conv'), pasteZone: $('composer-text') });
  controls.button.classList.add('btn', 'btn-small');
  $('canned-open').after(controls.button, controls.input);
  $('composer-text').before(controls.bar);
}

/** The text part of a message of kind `attachment`: the file, never its content. */
export function attachmentBody(attachment) {
  return h('div', 'msg-text msg-file', null, [attachmentView(attachment, '', WORDS)]);
}
