// The wallet's storage: one IndexedDB record holding the wallet's secret
// JSON (keys and credentials). Anything running script in this origin can
// read it: see SECURITY.md, "The browser wallet".
const DB = 'creditproof-wallet';
const STORE = 'wallet';
const KEY = 'secret';

function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export async function load() {
  const db = await open();
  return new Promise((resolve, reject) => {
    const r = db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY);
    r.onsuccess = () => resolve(r.result ?? null);
    r.onerror = () => reject(r.error);
  });
}

export async function save(secretJson) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, 'readwrite');
    t.objectStore(STORE).put(secretJson, KEY);
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
  });
}
