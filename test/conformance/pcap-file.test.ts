/** The source contract against capture files (our pcap/pcapng reader), packet counts checked with tshark. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { backendStatus } from '../../src/sources/index.js';
import { openCaptureFile } from '../../src/sources/events.js';
import { findExecutable } from '../../src/platform/capabilities.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { eventConformance } from './source.case.js';

const FILE = join(REPO_ROOT, 'test', 'fixtures', 'pcap', 'pcapng-two-interfaces.pcapng');
const status = backendStatus().find((b) => b.backend === 'pcap-file')!;
const tshark = findExecutable('tshark');
let tsharkCount: number | undefined;

eventConformance({
  backend: 'pcap-file',
  unavailable: !status.available ? 'pcap-file unavailable' : tshark === null ? 'needs tshark (apt-get install -y tshark) to count the packets' : undefined,
  unsupported: {
    abortWhileOpening: 'opening a file is one open(2): no moment to abort in, checked before it starts',
    perCpuLoss: 'a file loses nothing: there is no kernel buffer behind it',
  },
  // Tiny chunks, so the file takes many polls and records straddle chunk boundaries.
  open: (signal) => openCaptureFile(FILE, { chunkBytes: 256, signal }),
  stimulate: () => Promise.resolve(),
  expect: (packets) => {
    tsharkCount ??= spawnSync(tshark!, ['-r', FILE, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).stdout.trim().split('\n').length;
    assert.equal(packets.length, tsharkCount);
  },
  // A file's promise is file order (its timestamps need not be sorted): the packet number.
  timeNs: (p) => p.index,
});
