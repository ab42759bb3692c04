// `viommu drift` on hostile headers: it never runs the header's code, the compiler stays
// within its limits, every run ends with a message that names what happened, and no
// temporary folder is left behind, even when drift is stopped by a signal mid-compile.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftError, driftReport } from '../drift/drift.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import { DEFAULT_LIMITS } from '../drift/run-limited.js';
import { distOutputs } from '../outputs.js';
import { packageRoot } from '../paths.js';
import { specModel } from './spec-model.js';

const viommu = join(packageRoot, 'build', 'cli', 'viommu.js');
const { memoryMiB, seconds, messageBytes } = DEFAULT_LIMITS;

/** `#define B1 B0 B0` … : `levels` doublings, 2^levels tokens. */
function doubling(prefix: string, first: string, levels: number): string {
  const out = [`#define ${prefix}0 ${first}`];
  for (let i = 1; i <= levels; i++)
    out.push(`#define ${prefix}${i} ${prefix}${i - 1} ${prefix}${i - 1}`);
  return out.join('\n');
}

describe('drift on hostile headers', function () {
  this.timeout(90_000);
  let dir: string;
  let scratch: string;
  let base: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'viommu-hostile-'));
    scratch = join(dir, 'tmp');
    mkdirSync(scratch);
    base = distOutputs(specModel()).get(UAPI_HEADER_PATH)!;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const leftovers = () => readdirSync(scratch);

  /** `viommu drift HEADER` with its temporary folders in `scratch`. */
  function drift(name: string, text: string, ...args: string[]) {
    const path = join(dir, `${name}.h`);
    writeFileSync(path, text);
    return spawnSync(process.execPath, [viommu, 'drift', '--no-allow-list', ...args, path], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: scratch },
      timeout: 80_000,
    });
  }

  const marker = () => join(dir, 'MARKER');
  const constructorHeader = () =>
    `${base}\nint system(const char *);\n__attribute__((constructor)) static void viommu_evil(void)\n{\n\tsystem("touch ${marker()}");\n}\n`;

  it('runs a linked program of the constructor header: it is hostile', () => {
    // The check below can fail: built and run, this header does run its command.
    writeFileSync(join(dir, 'main.c'), '#include "evil-run.h"\nint main(void) { return 0; }\n');
    writeFileSync(join(dir, 'evil-run.h'), constructorHeader());
    const exe = join(dir, 'evil-run');
    const built = spawnSync('cc', ['-w', '-o', exe, join(dir, 'main.c')], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    assert.equal(spawnSync(exe).status, 0);
    assert.ok(existsSync(marker()));
    rmSync(marker());
  });

  it('never runs a constructor of the header: the command it would run did not run', () => {
    const r = drift('constructor', constructorHeader());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /nothing run\n/);
    assert.match(r.stdout, /No drift: the header matches the spec\.\n$/);
    assert.equal(existsSync(marker()), false, 'the constructor ran');
    assert.deepEqual(leftovers(), []);
  });

  it('ends on a constructor that loops forever, which it never runs', () => {
    const r = drift(
      'loop',
      `${base}\n__attribute__((constructor)) static void viommu_spin(void) { for (;;) ; }\n`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No drift/);
    assert.deepEqual(leftovers(), []);
  });

  it('stops the compiler at the memory limit on #include "/dev/zero"', () => {
    const r = drift('zero', '#include "/dev/zero"\n');
    assert.equal(r.status, 2, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(
        `zero\\.h: the C compiler \\(cc\\) was stopped: it ran out of memory at the limit of ${memoryMiB} MiB\n.*out of memory`,
      ),
    );
    assert.deepEqual(leftovers(), []);
  });

  it('stops a macro bomb (2^40 tokens) at a limit', () => {
    const r = drift('bomb', `${doubling('B', '1 +', 40)}\nint viommu_bomb = B40 1;\n`);
    assert.equal(r.status, 2, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(
        `bomb\\.h: the C compiler \\(cc\\) was stopped: it (ran out of memory at the limit of ${memoryMiB} MiB|hit the CPU time limit of ${seconds} s|took longer than the time limit of ${seconds} s)`,
      ),
    );
    assert.deepEqual(leftovers(), []);
  });

  it('stops a compiler that prints without end, and quotes only the start', () => {
    // 2^24 stray characters: an error each, many megabytes of messages.
    const r = drift('noisy', `${doubling('E', '@', 24)}\nint viommu_noise = E24;\n`);
    assert.equal(r.status, 2, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(
        `noisy\\.h: the C compiler \\(cc\\) was stopped: it printed more than the limit of ${messageBytes} bytes of messages\n`,
      ),
    );
    assert.ok(r.stderr.length < 2000, `${r.stderr.length} characters of messages`);
    assert.deepEqual(leftovers(), []);
  });

  it('names the signal that ended the compiler', () => {
    const crashing = join(dir, 'crashing-cc');
    writeFileSync(crashing, '#!/bin/sh\nkill -SEGV $$\n', { mode: 0o755 });
    const r = drift('crash', base, '--cc', crashing);
    assert.equal(r.status, 2, r.stdout);
    assert.match(
      r.stderr,
      /crash\.h: the C compiler \(\S*crashing-cc\) was stopped: killed by signal SIGSEGV \(11\): it crashed, perhaps when memory ran out\n$/,
    );
    assert.deepEqual(leftovers(), []);
  });

  // FOLDED is a constant gcc folds, of type int, but not an integer constant expression (a
  // floating operand outside a cast): only the probe's ICE check tells it apart.
  it('reports macros that are not integer constant expressions, and measures the rest', async () => {
    const path = join(dir, 'values.h');
    writeFileSync(
      path,
      `${base.replace('#endif', '')}
extern int viommu_variable;
#define VIRTIO_IOMMU_X_POINTER ((void *)0)
#define VIRTIO_IOMMU_X_FLOAT 1.5
#define VIRTIO_IOMMU_X_STRING "abc"
#define VIRTIO_IOMMU_X_ADDRESS ((long)"abc")
#define VIRTIO_IOMMU_X_FOLDED (2.5 > 1)
#define VIRTIO_IOMMU_X_VARIABLE viommu_variable
#define VIRTIO_IOMMU_X_OPEN (1
#define VIRTIO_IOMMU_X_TYPE __u32
#define VIRTIO_IOMMU_X_NEGATIVE (-5)
#endif
`,
    );
    const report = await driftReport(specModel(), path);
    assert.equal(report.abi.measured, true);
    assert.deepEqual(report.abi.measured && report.abi.notIntegers, [
      'VIRTIO_IOMMU_X_ADDRESS',
      'VIRTIO_IOMMU_X_FLOAT',
      'VIRTIO_IOMMU_X_FOLDED',
      'VIRTIO_IOMMU_X_OPEN',
      'VIRTIO_IOMMU_X_POINTER',
      'VIRTIO_IOMMU_X_STRING',
      'VIRTIO_IOMMU_X_TYPE',
      'VIRTIO_IOMMU_X_VARIABLE',
    ]);
    assert.deepEqual(
      report.findings.map((f) => `${f.kind} ${f.subject} ${f.actual}`),
      [
        'extra VIRTIO_IOMMU_X_POINTER ((void *)0)',
        'extra VIRTIO_IOMMU_X_FLOAT 1.5',
        'extra VIRTIO_IOMMU_X_STRING "abc"',
        'extra VIRTIO_IOMMU_X_ADDRESS ((long)"abc")',
        'extra VIRTIO_IOMMU_X_FOLDED (2.5 > 1)',
        'extra VIRTIO_IOMMU_X_VARIABLE viommu_variable',
        'extra VIRTIO_IOMMU_X_OPEN (1',
        'extra VIRTIO_IOMMU_X_TYPE __u32',
        'extra VIRTIO_IOMMU_X_NEGATIVE -5',
      ],
    );
  });

  describe('with the compiler blocked on a FIFO', () => {
    let fifo: string;
    before(() => {
      fifo = join(dir, 'fifo');
      const made = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      writeFileSync(join(dir, 'blocked.h'), '#include "fifo"\n');
    });

    /** Whether a process has the FIFO open for reading (the compiler, blocked on it). */
    function readerPresent(): boolean {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
        throw error;
      }
    }

    it('stops the compiler at the time limit', async () => {
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = scratch;
      try {
        await assert.rejects(
          driftReport(specModel(), join(dir, 'blocked.h'), { limits: { seconds: 2 } }),
          (error: Error) =>
            error instanceof DriftError &&
            /blocked\.h: the C compiler \(cc\) was stopped: it took longer than the time limit of 2 s$/.test(
              error.message,
            ),
        );
      } finally {
        // Assigning undefined would set the string 'undefined'.
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
      }
      assert.equal(readerPresent(), false, 'the compiler still runs');
      assert.deepEqual(leftovers(), []);
    });

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`on ${signal} while the compiler runs: kills it, removes the temporary folder, ends by ${signal}`, async () => {
        const child = spawn(process.execPath, [viommu, 'drift', join(dir, 'blocked.h')], {
          env: { ...process.env, TMPDIR: scratch },
          stdio: 'ignore',
        });
        const ended = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('exit', (_code, s) => resolve(s)),
        );
        // Opening the FIFO lets the compiler's open return; it then waits to read.
        let writer: number | undefined;
        for (let i = 0; i < 400 && writer === undefined; i++) {
          try {
            writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.ok(writer !== undefined, 'the compiler never opened the FIFO');
        assert.equal(leftovers().length, 1, 'the temporary folder of the running probe');
        child.kill(signal);
        assert.equal(await ended, signal);
        closeSync(writer);
        // SIGKILL is sent before drift ends; on a loaded machine the compiler may take a moment
        // to be scheduled and die. One that was never killed stays blocked on the FIFO for good.
        const deadline = Date.now() + 5000;
        while (readerPresent() && Date.now() < deadline) await sleep(50);
        assert.equal(readerPresent(), false, 'the compiler outlived drift');
        assert.deepEqual(leftovers(), []);
      });
    }
  });
});
