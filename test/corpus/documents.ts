/**
 * Specimen identity documents with known ground truth: a seeded identity, its MRZ (TD1, TD2 or
 * TD3, check digits computed here), a data page drawn as SVG (guilloche background, photo from
 * ../shared/faces, visual zone in DejaVu Sans, MRZ in OCR-B from Debian's fonts-ocr-b) and
 * rendered by sharp, then degraded like a phone capture: blur, perspective, JPEG quality 40, glare.
 *
 * Nothing is stored: pages are generated in memory from a seed (about 60 ms each).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkDigit, MRZ_SHAPES, transliterate, type MrzFormat } from '../../providers/local/document/icao';
import { FACES_DIR } from '../support/faces';

export const OCR_B_FONT = '/usr/share/fonts/opentype/ocr-b/OCRB.otf';

/** Fails with the install line when Debian's OCR-B font is missing (librsvg would fall back silently). */
export function requireOcrB(): void {
  if (!existsSync(OCR_B_FONT)) throw new Error(`${OCR_B_FONT} is missing: apt-get install -y fonts-ocr-b`);
}

/** mulberry32: small, seedable, good enough for test data */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Names with the national characters Doc 9303 Part 3 transliterates (as printed in the visual zone). */
const SURNAMES = [
  'MÜLLER', 'ÅSTRÖM', 'GARCÍA LÓPEZ', "O'NEILL", 'STRAUß', 'ØSTERGÅRD', 'DVOŘÁK', 'KOWALSKA', 'ŁUKASIEWICZ',
  'NGUYEN', 'SMITH-JONES', 'ÇELIK', 'PETERSEN', 'VAN DER BERG', 'JÄRVINEN', 'ŠIMKUS', 'FERNÁNDEZ', 'BJÖRK',
  'ANDERSSON', 'DE LA CRUZ', 'WOJCIECHOWSKA-GRABOWSKA', 'LI', 'QUÉRÉ', 'NÚÑEZ', 'SCHRÖDINGER', 'ÆRØ',
];
const GIVEN = [
  'ANNA', 'JÜRGEN', 'MARÍA JOSÉ', 'SØREN', 'ZOË', 'FRANÇOIS', 'HEINZ-PETER', 'IVAN', 'ŽYDRŪNĖ', 'LUKAS',
  'OLIVIA GRACE', 'MEHMET', 'ÉLODIE', 'JOSÉ ANTONIO MARÍA', 'KAI', 'BIRUTĖ', 'YUKI', 'ÅSA', 'PIOTR', 'ELIF',
];
/** issuing states (ICAO codes, D<< is Germany; not UTO, the specimen state Utopia: the `mrz` library rejects it) */
const STATES = ['D<<', 'FRA', 'NLD', 'SWE', 'ESP', 'POL', 'GBR', 'LTU', 'EST', 'TUR', 'CAN', 'AUS', 'JPN'];
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface Identity {
  format: MrzFormat;
  /** document code as in the MRZ: P< (passport), ID, I<, AC … */
  code: string;
  issuer: string;
  number: string;
  /** as printed in the visual zone (national characters) */
  surname: string;
  givenNames: string;
  nationality: string;
  /** YYMMDD */
  birth: string;
  sex: 'M' | 'F' | '<';
  expiry: string;
  /** TD3: personal number (≤ 14); TD1/TD2: optional data */
  optional: string;
}

const yymmdd = (y: number, m: number, d: number) => `${String(y % 100).padStart(2, '0')}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;

export function randomIdentity(r: () => number, format: MrzFormat): Identity {
  // not ID on a TD2: IDFRA is the French national ID's own format, which the mrz library reads as such
  const code = format === 'TD3' ? 'P<' : pick(r, format === 'TD1' ? ['ID', 'I<', 'AC', 'IR'] : ['I<', 'AC', 'IR']);
  const numberLength = r() < 0.8 ? 9 : int(r, 6, 8);
  const number = Array.from({ length: numberLength }, () => pick(r, [...ALNUM])).join('');
  const optionalLength = format === 'TD3' ? pick(r, [0, 0, 11, 14]) : format === 'TD2' ? pick(r, [0, 7]) : pick(r, [0, 9, 15]);
  const optional = Array.from({ length: optionalLength }, () => pick(r, [...'0123456789'])).join('');
  const state = pick(r, STATES);
  return {
    format,
    code,
    issuer: state,
    number,
    surname: pick(r, SURNAMES),
    givenNames: pick(r, GIVEN),
    nationality: r() < 0.85 ? state : pick(r, STATES),
    birth: yymmdd(int(r, 1940, 2012), int(r, 1, 12), int(r, 1, 28)),
    sex: pick(r, ['M', 'F', 'F', 'M', '<'] as const),
    expiry: yymmdd(int(r, 2019, 2036), int(r, 1, 12), int(r, 1, 28)),
    optional,
  };
}

const pad = (s: string, n: number) => (s + '<'.repeat(n)).slice(0, n);

/** SURNAME<<GIVEN<NAMES in the MRZ alphabet, cut or filled to `n` characters */
export function nameField(id: Pick<Identity, 'surname' | 'givenNames'>, n: number): string {
  return pad(`${transliterate(id.surname)}<<${transliterate(id.givenNames)}`, n);
}

/** The MRZ lines of an identity (Doc 9303 Parts 4–6). */
export function mrzLines(id: Identity): string[] {
  const number = pad(id.number, 9);
  const numberCd = number + checkDigit(number);
  const birth = id.birth + checkDigit(id.birth);
  const expiry = id.expiry + checkDigit(id.expiry);
  if (id.format === 'TD3') {
    const personal = pad(id.optional, 14);
    // an empty personal number may carry '<' or 0 as its check digit; 0 here
    const personalCd = personal + checkDigit(personal);
    const composite = checkDigit(numberCd + birth + expiry + personalCd);
    return [`${id.code}${id.issuer}${nameField(id, 39)}`, `${numberCd}${id.nationality}${birth}${id.sex}${expiry}${personalCd}${composite}`];
  }
  if (id.format === 'TD2') {
    const optional = pad(id.optional, 7);
    const composite = checkDigit(numberCd + birth + expiry + optional);
    return [`${id.code}${id.issuer}${nameField(id, 31)}`, `${numberCd}${id.nationality}${birth}${id.sex}${expiry}${optional}${composite}`];
  }
  const optional1 = pad(id.optional, 15);
  const optional2 = pad('', 11);
  const line1 = `${id.code}${id.issuer}${numberCd}${optional1}`;
  const line2core = `${birth}${id.sex}${expiry}${id.nationality}${optional2}`;
  const composite = checkDigit(line1.slice(5, 30) + birth + expiry + optional2);
  return [line1, line2core + composite, nameField(id, 30)];
}

/** Physical size (mm) and the MRZ's placement per format (Doc 9303 Parts 4–6, approximately). */
const CARD: Record<MrzFormat, { w: number; h: number }> = {
  TD1: { w: 85.6, h: 53.98 },
  TD2: { w: 105, h: 74 },
  TD3: { w: 125, h: 88 },
};
const PITCH_MM = 2.54; // 10 characters per inch
const LINE_MM = 4.23; // 6 lines per inch

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');

const FACE_FILES = ['deepface/img1.jpg', 'deepface/img2.jpg', 'deepface/img5.jpg', 'deepface/img7.jpg', 'deepface/img10.jpg', 'deepface/img17.jpg', 'deepface/img20.jpg', 'deepface/img30.jpg'];
const faceCache = new Map<string, string>();

async function facePortrait(rel: string): Promise<string> {
  let uri = faceCache.get(rel);
  if (!uri) {
    const jpeg = await sharp(readFileSync(join(FACES_DIR, rel))).resize(350, 450, { fit: 'cover', position: 'attention' }).jpeg({ quality: 85 }).toBuffer();
    uri = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
    faceCache.set(rel, uri);
  }
  return uri;
}

/** A data page as SVG, `pxPerMm` pixels per millimetre. */
export async function pageSvg(id: Identity, r: () => number, pxPerMm: number): Promise<{ svg: string; width: number; height: number; face: string }> {
  const { w, h } = CARD[id.format];
  const width = Math.round(w * pxPerMm);
  const height = Math.round(h * pxPerMm);
  const u = (mm: number) => (mm * pxPerMm).toFixed(2);
  const hue = int(r, 0, 359);
  const waves: string[] = [];
  for (let k = 0; k < 14; k++) {
    const amp = 2 + r() * 6;
    const period = 8 + r() * 20;
    const y0 = (k / 14) * h;
    let d = `M 0 ${u(y0)}`;
    for (let x = 0; x <= w; x += 1.5) d += ` L ${u(x)} ${u(y0 + amp * Math.sin((2 * Math.PI * x) / period + k))}`;
    waves.push(`<path d="${d}" fill="none" stroke="hsl(${(hue + k * 9) % 360},45%,72%)" stroke-width="${u(0.18)}"/>`);
  }
  const lines = mrzLines(id);
  const shape = MRZ_SHAPES[id.format];
  const mrzWidth = shape.length * PITCH_MM;
  const left = (w - mrzWidth) / 2;
  // bottom line's baseline ~5 mm above the edge, lines 6 per inch
  const baselines = lines.map((_, i) => h - 5 - (lines.length - 1 - i) * LINE_MM);
  const fontSize = 3.45; // mm: OCR-B cap height ≈ 2.4 mm (size 1 of ISO 1073-2)
  const mrz = lines
    .map((l, i) => `<text x="${u(left)}" y="${u(baselines[i]!)}" font-family="OCR B" font-size="${u(fontSize)}" textLength="${u(mrzWidth - PITCH_MM + 1.75)}" lengthAdjust="spacing" fill="#111">${escapeXml(l)}</text>`)
    .join('');
  const faceFile = pick(r, FACE_FILES);
  const face = await facePortrait(faceFile);
  const photoTop = id.format === 'TD1' ? 9 : 12;
  const photoH = id.format === 'TD1' ? 23 : id.format === 'TD2' ? 40 : 48;
  const photoW = photoH * 0.78;
  const viz = (label: string, value: string, x: number, y: number) =>
    `<text x="${u(x)}" y="${u(y)}" font-family="DejaVu Sans" font-size="${u(1.6)}" fill="#445">${escapeXml(label)}</text>` +
    `<text x="${u(x)}" y="${u(y + 3.1)}" font-family="DejaVu Sans" font-size="${u(2.6)}" fill="#111">${escapeXml(value)}</text>`;
  const vx = 6 + photoW + 5;
  const date = (s: string, century: string) => `${s.slice(4, 6)}.${s.slice(2, 4)}.${century}${s.slice(0, 2)}`;
  const step = id.format === 'TD1' ? 4.6 : 6.4;
  const fields = [
    ['Surname / Nom', id.surname],
    ['Given names / Prénoms', id.givenNames],
    ['Nationality / Nationalité', id.nationality.replace(/</g, '')],
    ['Date of birth / Date de naissance', date(id.birth, Number(id.birth.slice(0, 2)) > 12 ? '19' : '20')],
    ['Sex / Sexe', id.sex === '<' ? 'X' : id.sex],
    ['Date of expiry / Date d’expiration', date(id.expiry, '20')],
  ]
    .slice(0, id.format === 'TD1' ? 4 : 6)
    .map(([label, value], i) => viz(label!, value!, vx, photoTop + 2 + i * step))
    .join('');
  const title = id.format === 'TD3' ? 'PASSPORT / PASSEPORT' : 'IDENTITY CARD / CARTE D’IDENTITÉ';
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="hsl(${hue},35%,92%)"/>${waves.join('')}` +
    `<rect x="0" y="${u(h - lines.length * LINE_MM - 5)}" width="100%" height="${u(lines.length * LINE_MM + 5)}" fill="hsl(${hue},25%,95%)" opacity="0.85"/>` +
    `<text x="${u(6)}" y="${u(6.5)}" font-family="DejaVu Sans" font-weight="bold" font-size="${u(3.4)}" fill="hsl(${hue},60%,25%)">${escapeXml(title)}</text>` +
    `<text x="${u(w - 30)}" y="${u(6.5)}" font-family="DejaVu Sans" font-size="${u(2.6)}" fill="#222">${escapeXml(id.number)}</text>` +
    `<image x="${u(6)}" y="${u(photoTop)}" width="${u(photoW)}" height="${u(photoH)}" preserveAspectRatio="xMidYMid slice" href="${face}"/>` +
    fields +
    mrz +
    `</svg>`;
  return { svg, width, height, face: faceFile };
}

export const DEGRADATIONS = ['clean', 'blur', 'perspective', 'jpeg40', 'glare'] as const;
export type Degradation = (typeof DEGRADATIONS)[number];

export interface GeneratedPage {
  id: Identity;
  /** ground truth */
  lines: string[];
  degradation: Degradation;
  /** JPEG (or PNG for `clean`) bytes */
  bytes: Buffer;
  /** the portrait printed on it (a file of ../shared/faces): a selfie of the same person matches it */
  face: string;
}

/** The page for seed `seed`, format and degradation: same arguments, same bytes. */
export async function generatePage(seed: number, format: MrzFormat, degradation: Degradation): Promise<GeneratedPage> {
  const r = rng(seed);
  const id = randomIdentity(r, format);
  // 8–14 px/mm: a TD3 page 1000–1750 px wide, a TD1 card 685–1200 px (a phone shot filling most of the frame)
  const pxPerMm = 8 + r() * 6;
  const { svg, width, height, face } = await pageSvg(id, r, pxPerMm);
  const page = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let img: Rgb = { data: new Uint8Array(page.data.buffer, page.data.byteOffset, page.data.length), width: page.info.width, height: page.info.height };
  if (img.width !== width || img.height !== height) throw new Error('svg rendered at an unexpected size');
  let quality = 92;
  switch (degradation) {
    case 'blur':
      return finish(id, face, degradation, await sharp(Buffer.from(img.data), { raw: { width, height, channels: 3 } }).blur(0.9 + r() * 0.7 * (pxPerMm / 10)).jpeg({ quality }).toBuffer());
    case 'perspective':
      img = perspective(img, r);
      break;
    case 'jpeg40':
      quality = 40;
      break;
    case 'glare':
      img = glare(img, r);
      break;
    case 'clean':
      return finish(id, face, degradation, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer());
  }
  return finish(id, face, degradation, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality }).toBuffer());
}

function finish(id: Identity, face: string, degradation: Degradation, bytes: Buffer): GeneratedPage {
  return { id, lines: mrzLines(id), degradation, bytes, face };
}

interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * The page photographed at an angle: its corners moved independently by up to 7% of the page
 * size and turned by up to ±6°, on a dark table with a margin of 8% each side.
 */
function perspective(src: Rgb, r: () => number): Rgb {
  const mx = Math.round(src.width * 0.12);
  const my = Math.round(src.height * 0.12);
  const W = src.width + 2 * mx;
  const H = src.height + 2 * my;
  const angle = ((r() * 2 - 1) * 6 * Math.PI) / 180;
  const cx = W / 2;
  const cy = H / 2;
  const corners = [
    [0, 0],
    [src.width, 0],
    [src.width, src.height],
    [0, src.height],
  ].map(([x, y]) => {
    const jx = x! + mx + (r() * 2 - 1) * 0.07 * src.width - cx;
    const jy = y! + my + (r() * 2 - 1) * 0.07 * src.height - cy;
    return [cx + jx * Math.cos(angle) - jy * Math.sin(angle), cy + jx * Math.sin(angle) + jy * Math.cos(angle)] as [number, number];
  });
  // homography from destination to source (maps the quad onto the page rectangle)
  const Hm = homography(corners, [
    [0, 0],
    [src.width, 0],
    [src.width, src.height],
    [0, src.height],
  ]);
  const out = new Uint8Array(W * H * 3);
  const table = [40 + int(r, 0, 40), 35 + int(r, 0, 30), 30 + int(r, 0, 20)];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 3;
      const z = Hm[6]! * x + Hm[7]! * y + 1;
      const sx = (Hm[0]! * x + Hm[1]! * y + Hm[2]!) / z - 0.5;
      const sy = (Hm[3]! * x + Hm[4]! * y + Hm[5]!) / z - 0.5;
      if (sx < 0 || sy < 0 || sx >= src.width - 1 || sy >= src.height - 1) {
        out[o] = table[0]!;
        out[o + 1] = table[1]!;
        out[o + 2] = table[2]!;
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const p = (y0 * src.width + x0) * 3;
      const q = p + src.width * 3;
      for (let c = 0; c < 3; c++) {
        out[o + c] = (1 - fy) * ((1 - fx) * src.data[p + c]! + fx * src.data[p + 3 + c]!) + fy * ((1 - fx) * src.data[q + c]! + fx * src.data[q + 3 + c]!);
      }
    }
  }
  return { data: out, width: W, height: H };
}

/** 3×3 homography (h33 = 1) taking the four `from` points to the four `to` points (DLT, Gaussian elimination). */
function homography(from: Array<[number, number]>, to: number[][]): number[] {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!;
    const [u, v] = to[i] as [number, number];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) {
    let best = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[best]![c]!)) best = r;
    [A[c], A[best]] = [A[best]!, A[c]!];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      for (let k = c; k < 9; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  return A.map((row, i) => row[8]! / row[i]!);
}

/**
 * A specular highlight: a bright elliptical blob (peak 75–95% white) somewhere on the lower half
 * of the page, so it often reaches into the MRZ.
 */
function glare(src: Rgb, r: () => number): Rgb {
  const out = new Uint8Array(src.data);
  const cx = src.width * (0.15 + r() * 0.7);
  const cy = src.height * (0.55 + r() * 0.4);
  const rx = src.width * (0.12 + r() * 0.15);
  const ry = src.height * (0.1 + r() * 0.15);
  const peak = 0.75 + r() * 0.2;
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      if (d > 4) continue;
      const a = peak * Math.exp(-d * 1.2);
      const o = (y * src.width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = out[o + c]! + a * (255 - out[o + c]!);
    }
  }
  return { data: out, width: src.width, height: src.height };
}

/** The pages of a benchmark or test run: `count` seeds from `firstSeed`, formats in turn. */
export function pagePlan(firstSeed: number, count: number): Array<{ seed: number; format: MrzFormat }> {
  const formats: MrzFormat[] = ['TD3', 'TD1', 'TD3', 'TD2'];
  return Array.from({ length: count }, (_, i) => ({ seed: firstSeed + i, format: formats[i % formats.length]! }));
}

/** The three specimen passport pages in ../shared/faces/idenfy-documents and their printed MRZs. */
export const SPECIMENS = [
  {
    file: 'idenfy-documents/BarackHusseinObama.jpg',
    lines: ['P<USAOBAMA<<BARACK<HUSSEIN<<<<<<<<<<<<<<<<<<', '9102392482USA6101172M6812056<<<<<<<<<<<<<<02'],
  },
  {
    file: 'idenfy-documents/BasanavicieneBirute.jpg',
    lines: ['P<LTUBASANAVICIENE<<BIRUTE<<<<<<<<<<<<<<<<<<', '00000000<0LTU9003118F290102049003111045<<<86'],
  },
  {
    file: 'idenfy-documents/TheresaMay.jpg',
    lines: ['P<GBRMAY<<THERESA<<<<<<<<<<<<<<<<<<<<<<<<<<<', '1071857032GBR8501178F6601317<<<<<<<<<<<<<<02'],
  },
] as const;
