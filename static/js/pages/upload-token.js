// The composer's "Upload token" field, for servers that accept shares only with a credential
// from their operator (GET /api/v1/config says upload_token_required).
//
// The token is remembered in this browser's localStorage after a share was created with it, so
// the sender types it once; "Forget" removes it (a shared computer). It goes only into the
// Authorization header of POST /shares, never into a URL or a share.

const STORAGE_KEY = 'onetimeshare.upload-token';

/** Read the remembered token ('' when none, or when storage is unavailable). */
function remembered() {
  try {
    return localStorage.getItem(STORAGE_KEY) || '';
  } catch {
    return '';
  }
}

/**
 * Wire the field: {field, input, forget, hint} elements. Returns {show(message?), value(),
 * remember(), required}: show() reveals the field (on config, or on a 401 the config did not
 * announce), value() is the token to send (null when the field is hidden or empty).
 */
export function wireUploadTokenField({ field, input, forget, hint }) {
  const defaultHint = hint.textContent;
  const control = {
    required: false,
    show(message = null) {
      control.required = true;
      field.hidden = false;
      hint.textContent = message || defaultHint;
      hint.classList.toggle('is-error', Boolean(message));
      input.setAttribute('aria-invalid', String(Boolean(message)));
    },
    value() {
      return control.required && input.value.trim() ? input.value.trim() : null;
    },
    remember() {
      const token = control.value();
      if (!token) return;
      try {
        localStorage.setItem(STORAGE_KEY, token);
      } catch {
        return; // private mode: the sender types it again next time
      }
      forget.hidden = false;
      hint.textContent = defaultHint;
      hint.classList.remove('is-error');
      input.setAttribute('aria-invalid', 'false');
    },
  };
  input.value = remembered();
  forget.hidden = !input.value;
  forget.addEventListener('click', () => {
    try {
      localStorage.removeItem(STORAGE_KEY);
    } catch {
      // nothing was stored
    }
    input.value = '';
    forget.hidden = true;
    input.focus();
  });
  return control;
}
