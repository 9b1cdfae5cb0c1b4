// Receive what the installed app was given by the system's share sheet (manifest share_target).
//
// The service worker (sw.js) caught the share sheet's post and kept the files in this browser;
// it sent us here with "#shared=<id>". This module registers the worker (so that an installed app
// has it), asks it once for that id's files and text, and takes the id out of the address bar.

import { prepareServiceWorker } from '../save.js';

const ANSWER_TIMEOUT_MS = 5000;

/** Return {files, text} shared to the app, {unavailable: true} if the worker was missing, or null. */
export async function takeShared() {
  const registration = prepareServiceWorker();
  const hash = location.hash;
  if (hash === '#share-target-unavailable') {
    history.replaceState(history.state, '', location.pathname);
    return { unavailable: true };
  }
  const match = /^#shared=([\w-]{1,64})$/.exec(hash);
  if (!match) return null;
  history.replaceState(history.state, '', location.pathname);
  const worker = (await registration)?.active;
  if (!worker) return { unavailable: true };
  const channel = new MessageChannel();
  const answer = new Promise((resolve) => {
    channel.port1.onmessage = (event) => resolve(event.data);
    setTimeout(() => resolve(null), ANSWER_TIMEOUT_MS);
  });
  worker.postMessage({ type: 'shared', id: match[1] }, [channel.port2]);
  return (await answer) ?? { unavailable: true };
}
