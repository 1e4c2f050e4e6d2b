// What the widget keeps in the browser, one localStorage entry per server: the visitor token,
// the open conversation, whether the panel was open and the last seq seen; never messages.
// It is read again each time (other tabs write it); in memory only without storage.

export function visitorStorage(server) {
  const key = 'switchboard:' + server;
  const memory = {};

  function load() {
    try {
      Object.assign(memory, JSON.parse(localStorage.getItem(key)));
    } catch {
      // storage disabled: memory only
    }
    return memory;
  }

  return {
    get(field) {
      return load()[field];
    },
    set(patch) {
      Object.assign(load(), patch);
      try {
        localStorage.setItem(key, JSON.stringify(memory));
      } catch {
        // storage disabled: memory only
      }
    },
  };
}
