// Draw a QR code of a link as an SVG element, entirely in the browser (vendored uqr).
//
// The link carries the secret in its fragment, so it must never reach a QR service: uqr only
// computes the module matrix here, and the SVG is built node by node (no HTML strings, no inline
// style; colours come from the stylesheet through the .qr-* classes).

import { encode } from './vendor/uqr/index.js';

const SVG = 'http://www.w3.org/2000/svg';
const QUIET_ZONE = 2; // modules of white border; scanners want some

/** Return an <svg> drawing `text` as a QR code, with `label` as its accessible name. */
export function qrSvg(text, label = 'QR code of the link') {
  const { size, data } = encode(text, { ecc: 'M', border: QUIET_ZONE });
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.classList.add('qr');
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', size);
  background.setAttribute('height', size);
  background.classList.add('qr-light');
  const path = [];
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      if (data[row][col]) path.push(`M${col},${row}h1v1h-1z`);
    }
  }
  const modules = document.createElementNS(SVG, 'path');
  modules.setAttribute('d', path.join(''));
  modules.classList.add('qr-dark');
  svg.append(background, modules);
  return svg;
}
