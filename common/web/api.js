// The one API client of every page: JSON over /api/v1 with the session
// cookie, the CSRF token on every write, If-Match and Idempotency-Key when
// asked, and one error type. A 401 sends the user back to sign-in.

const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = e.code || (status === 0 ? 'network_error' : 'http_' + status);
    this.field = e.field || null;
    this.body = body;
    this.retryAfter = null;
  }
  get stale() { return this.status === 409 && this.code === 'stale_version'; }
}

let csrf = null;
const listeners = { unauthorized: [] };

export function setCsrf(token) { csrf = token || null; }
export function onUnauthorized(fn) { listeners.unauthorized.push(fn); }

function url(path, query) {
  let u = path.startsWith('/api/') ? path : BASE + path;
  if (query) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      p.append(k, String(v));
    }
    const s = p.toString();
    if (s) u += (u.includes('?') ? '&' : '?') + s;
  }
  return u;
}

function newKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function parse(resp) {
  const type = resp.headers.get('Content-Type') || '';
  if (resp.status === 204) return null;
  if (type.includes('json')) {
    try { return await resp.json(); } catch { return null; }
  }
  return await resp.text();
}

async function request(method, path, { query, body, ifMatch, idempotencyKey, signal, raw, contentType } = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (body !== undefined && body !== null) {
    if (contentType) {
      headers['Content-Type'] = contentType;
      payload = body;
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  if (ifMatch !== undefined && ifMatch !== null) headers['If-Match'] = `"${ifMatch}"`;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey === true ? newKey() : idempotencyKey;
  let resp;
  try {
    resp = await fetch(url(path, query), { method, headers, body: payload, credentials: 'same-origin', signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, { error: { code: 'network_error', message: String(e && e.message || e) } });
  }
  if (raw && resp.ok) return resp;
  const data = await parse(resp);
  if (!resp.ok) {
    const err = new ApiError(resp.status, typeof data === 'object' ? data : null);
    const ra = resp.headers.get('Retry-After');
    if (ra) err.retryAfter = Number(ra);
    if (resp.status === 401 && !path.startsWith('/session')) listeners.unauthorized.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

// Every list of the API answers {items, next_cursor}; this walks the pages
// up to max items (for small lists such as stages or warehouses only).
async function all(path, query = {}, max = 2000) {
  const out = [];
  let cursor = null;
  do {
    const page = await request('GET', path, { query: { ...query, limit: 500, cursor } });
    out.push(...(page.items || []));
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

// Upload text (CSV) with progress: XHR, since fetch has no upload progress.
function upload(path, text, { contentType = 'text/csv', onProgress, query, idempotencyKey } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url(path, query));
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    if (idempotencyKey) xhr.setRequestHeader('Idempotency-Key', idempotencyKey === true ? newKey() : idempotencyKey);
    if (onProgress) {
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    }
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const err = new ApiError(xhr.status, data);
        if (xhr.status === 401) listeners.unauthorized.forEach((fn) => fn(err));
        reject(err);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { error: { code: 'network_error', message: 'network error' } }));
    xhr.send(text);
  });
}

// Download an answer (CSV export) as a file the browser saves.
async function download(path, query, filename) {
  const resp = await request('GET', path, { query, raw: true });
  const blob = await resp.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename || 'export.csv';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body, opts = {}) => request('POST', path, { ...opts, body: body === undefined ? null : body }),
  patch: (path, body, opts = {}) => request('PATCH', path, { ...opts, body }),
  put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
  del: (path, opts = {}) => request('DELETE', path, opts),
  all,
  upload,
  download,
  request,
};
