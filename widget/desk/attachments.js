/* Files in the desk: the composer's file button, paste and drag-and-drop onto the open
 * conversation, and a file message's thumbnail or download link. The upload itself and
 * the views are the widget's (chat/attachments.js); the desk gives its words and says
 * when a file may go: into a conversation it may write to, not as an internal note. */

import { $, h } from '../lib/dom.js';
import { attachmentView, fileControls } from '../chat/attachments.js';
import { S } from './state.js';
import { writable } from './facts.js';

const WORDS = {
  attach: 'Attach a file',
  uploading: 'Uploading',
  cancelUpload: 'Cancel upload',
  cancelled: 'Upload cancelled.',
  tooLarge: 'This file is too large for this queue.',
  badType: 'This type of file cannot be sent in this queue.',
  notAllowed: 'Files go only into a conversation you are connected to.',
  busy: 'The file could not be stored just now (the database is away); try again in a moment.',
  uploadFailed: 'The file was not sent; try again.',
  image: 'Image',
  file: 'File',
};

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
