/**
 * Attachments (issue 16): upload throughput of a 20 MB file through the HTTP API (multipart, and
 * tus in 5 MiB chunks) into the S3 blob store, against a plain `curl` PUT of the same bytes to the
 * same S3-compatible server in the same run; and the image processing time per image (header
 * check, served copy without metadata, thumbnail, placeholder) at three sizes.
 *
 *   node --conditions=mercurio-source --import tsx bench/attachments.ts [--mb 20] [--runs 3]
 *
 * Everything runs on this machine: an embedded engine (PGlite, Aedes) and s3rver, both in this
 * process, in temporary folders removed at the end. Writes bench/results/attachments.json.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import S3rver from 's3rver';
import sharp from 'sharp';
import { Upload } from 'tus-js-client';
import { processImage } from '../packages/server/src/attachments/images.js';
import { signUserToken } from '../packages/server/src/auth/tokens.js';
import { loadConfig } from '../packages/server/src/config.js';
import { startEngine } from '../packages/server/src/engine.js';
import { createLogger } from '../packages/server/src/logger.js';
import { REPO } from './support.js';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '20' }, runs: { type: 'string', default: '3' } },
});
const MB = Number(values.mb);
const RUNS = Number(values.runs);
const APP = 'bench-attachments';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

const dir = mkdtempSync(join(tmpdir(), 'mercurio-bench-att-'));
const s3 = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: join(dir, 's3'),
  configureBuckets: [{ name: 'bench', configs: [] }],
});
const { port: s3Port } = (await s3.run()) as { port: number };
const s3Url = `http://127.0.0.1:${s3Port}`;
const config = loadConfig({
  MERCURIO_JWT_SECRET: randomBytes(32).toString('hex'),
  MERCURIO_APP_ID: APP,
  MERCURIO_DATA_DIR: join(dir, 'data'),
  MERCURIO_HTTP_PORT: '0',
  MERCURIO_MQTT_PORT: '0',
  MERCURIO_LOG_LEVEL: 'warn',
  MERCURIO_BLOB_STORE: 's3',
  MERCURIO_S3_ENDPOINT: s3Url,
  MERCURIO_S3_BUCKET: 'bench',
  MERCURIO_S3_ACCESS_KEY_ID: 'S3RVER',
  MERCURIO_S3_SECRET_ACCESS_KEY: 'S3RVER',
  MERCURIO_ATTACHMENT_MAX_BYTES: String((MB + 1) * 1024 * 1024),
});
const engine = await startEngine(config, createLogger('warn'), { router: true, http: true });
const api = `${engine.httpUrl}/api`;
const token = await signUserToken(config.jwt, { app: APP, user: 'alice', ttlSeconds: 3600 });
const file = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(MB * 1024 * 1024 - 9)]);
const filePath = join(dir, 'file.pdf');
writeFileSync(filePath, file);

async function multipart(): Promise<void> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)]), 'file.pdf');
  const answer = await fetch(`${api}/v1/apps/${APP}/attachments?recipient_id=bob`, {
    method: 'POST',
    headers: { authorization: token },
    body: form,
  });
  if (answer.status !== 201) throw new Error(`multipart upload: ${answer.status} ${await answer.text()}`);
}

function tus(): Promise<void> {
  return new Promise((resolve, reject) => {
    new Upload(file, {
      endpoint: `${api}/v1/apps/${APP}/uploads`,
      chunkSize: 5 * 1024 * 1024,
      metadata: { recipient_id: 'bob', filename: 'file.pdf' },
      headers: { authorization: token },
      onError: reject,
      onSuccess: () => resolve(),
    }).start();
  });
}

async function curlPut(run: number): Promise<number> {
  const { stdout } = await promisify(execFile)('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{time_total}',
    '-T',
    filePath,
    `${s3Url}/bench/curl-${run}`,
  ]);
  const [status, seconds] = stdout.split(' ');
  if (status !== '200') throw new Error(`curl PUT: ${status}`);
  return Number(seconds) * 1000;
}

const upload = { multipart: [] as number[], tus: [] as number[], curl: [] as number[] };
for (let run = 0; run < RUNS; run++) {
  upload.curl.push(await curlPut(run));
  upload.multipart.push(await timed(multipart));
  upload.tus.push(await timed(tus));
}

// Images: a photo-like JPEG (noise compresses badly, like a photo) at three sizes.
const sizes = [
  [1024, 768],
  [3000, 2000],
  [4000, 3000],
] as const;
const images: { size: string; bytes: number; ms: number }[] = [];
for (const [width, height] of sizes) {
  const noise = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const path = join(dir, `img-${run}.jpg`);
    writeFileSync(path, noise);
    times.push(
      await timed(() =>
        processImage(path, 'image/jpeg', { maxPixels: config.attachments.maxPixels, thumbnailSize: 320 }),
      ),
    );
  }
  images.push({ size: `${width}×${height}`, bytes: noise.length, ms: median(times) });
}

const bytes = file.length;
const rows = {
  file_mb: MB,
  runs: RUNS,
  upload_mb_per_s: {
    curl_put_to_s3rver: mbps(bytes, median(upload.curl)),
    http_multipart: mbps(bytes, median(upload.multipart)),
    http_tus_5mib_chunks: mbps(bytes, median(upload.tus)),
  },
  upload_ms: upload,
  image_processing_ms: images,
};
console.log(JSON.stringify(rows, null, 2));
writeFileSync(join(REPO, 'bench/results/attachments.json'), `${JSON.stringify(rows, null, 2)}\n`);

await engine.stop();
await s3.close();
rmSync(dir, { recursive: true, force: true });
