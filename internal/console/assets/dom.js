// dom.js — building the console's elements. Everything that comes from the
// server (message text, names, reasons, room names) goes in as text:
// children are text nodes or elements, attributes are set one by one, and
// nothing is ever parsed as HTML.

/**
 * The element with this id.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console: no element #${id}`);
  return el;
}

/**
 * Creates an element. props: `class`, `text`, `dataset` (an object),
 * `on<event>` (a listener), anything else an attribute (true for a
 * boolean one; null, undefined and false are skipped). Children are nodes
 * or strings, which become text.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  for (const c of children) {
    if (c != null) el.append(c);
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an SVG element with attributes.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, attrs);
  return el;
}

/**
 * @param {Element} el
 * @param {Record<string, any>} props
 */
function setProps(el, props) {
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.setAttribute('class', String(v));
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(/** @type {HTMLElement} */ (el).dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/**
 * Shows an error's message in el (the API's own message for API errors),
 * or hides el when err is null.
 * @param {HTMLElement} el
 * @param {unknown} err
 */
export function showError(el, err) {
  if (err == null) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.textContent = err instanceof Error ? err.message : String(err);
  el.hidden = false;
}

/**
 * Sets a status line: a message, and whether it reports a failure.
 * @param {HTMLElement} el
 * @param {string} text
 * @param {boolean} [failed]
 */
export function setStatus(el, text, failed = false) {
  el.textContent = text;
  el.classList.toggle('error', failed);
}
