// Files waiting in the composer: picked or dropped, uploaded at once with a
// progress bar and a Cancel button, removable until the message is sent.

import { t } from './words.js';

/** @typedef {import('./bffClient.js').BffClient} BffClient */
/** @typedef {import('./bffClient.js').Capabilities} Capabilities */

/**
 * @typedef {object} PendingFile
 * @property {string} name
 * @property {AbortController} abort
 * @property {string} [id] set once uploaded
 * @property {HTMLElement} chip
 */

export class PendingUploads {
  /**
   * @param {BffClient} client
   * @param {HTMLElement} list where the chips go
   * @param {(message: string) => void} warn
   */
  constructor(client, list, warn) {
    this.client = client;
    this.list = list;
    this.warn = warn;
    /** @type {PendingFile[]} */
    this.files = [];
    /** @type {Capabilities['attachments'] | undefined} */
    this.limits = undefined;
  }

  /** @param {Capabilities['attachments']} limits */
  configure(limits) {
    this.limits = limits;
  }

  /** Ids of the files that finished uploading. */
  get ids() {
    return this.files.flatMap((f) => (f.id ? [f.id] : []));
  }

  get busy() {
    return this.files.some((f) => !f.id);
  }

  /** @param {File} file */
  async add(file) {
    const limits = this.limits;
    if (!limits?.enabled) return;
    // A first check here for a quick answer; the service checks again (sizes as Genesys counts them: a KB is 1000 bytes).
    if (file.size > limits.maxBytes) {
      this.warn(t('fileTooLarge', { file: file.name, count: Math.floor(limits.maxBytes / 1000 / 1000) }));
      return;
    }
    const extension = file.name.includes('.') ? file.name.slice(file.name.lastIndexOf('.')).toLowerCase() : '';
    if (limits.blockedExtensions.includes(extension)) {
      this.warn(t('fileTypeBlocked', { extension }));
      return;
    }
    /** @type {PendingFile} */
    const pending = { name: file.name, abort: new AbortController(), chip: this.chip(file.name) };
    this.files.push(pending);
    const bar = /** @type {HTMLProgressElement} */ (pending.chip.querySelector('progress'));
    try {
      const uploaded = await this.client.uploadAttachment(file, {
        signal: pending.abort.signal,
        onProgress: (f) => (bar.value = f),
      });
      pending.id = uploaded.id;
      pending.chip.dataset.state = 'done';
      bar.value = 1;
      const action = /** @type {HTMLButtonElement} */ (pending.chip.querySelector('button'));
      action.textContent = t('remove');
      action.setAttribute('aria-label', t('removeFile', { file: file.name }));
    } catch (error) {
      this.drop(pending);
      if (!pending.abort.signal.aborted)
        this.warn(error instanceof Error ? error.message : `${file.name} could not be uploaded.`);
    }
  }

  /** Forgets the files once their message is sent. */
  sent() {
    for (const f of this.files) f.chip.remove();
    this.files = [];
  }

  /** @param {string} name */
  chip(name) {
    const chip = document.createElement('div');
    chip.className = 'pending-file';
    chip.dataset.state = 'uploading';
    const label = document.createElement('span');
    label.textContent = name;
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute('aria-label', t('uploading', { file: name }));
    const action = document.createElement('button');
    action.type = 'button';
    action.textContent = t('cancel');
    action.setAttribute('aria-label', t('cancelFile', { file: name }));
    action.addEventListener('click', () => {
      const pending = this.files.find((f) => f.chip === chip);
      if (!pending) return;
      pending.abort.abort();
      this.drop(pending);
      if (pending.id) this.client.deleteAttachment(pending.id).catch(() => undefined);
    });
    chip.append(label, bar, action);
    this.list.append(chip);
    this.list.hidden = false;
    return chip;
  }

  /** @param {PendingFile} pending */
  drop(pending) {
    pending.chip.remove();
    this.files = this.files.filter((f) => f !== pending);
    this.list.hidden = this.files.length === 0;
  }
}
