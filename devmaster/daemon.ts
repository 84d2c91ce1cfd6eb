// The devmaster daemon: kernel uevents in, rules applied by worker threads, effects applied here, processed events
// broadcast (monitor.ts) for libudev listeners and the core. Events of one device, and of a device and its parents,
// run in order (queue.ts); independent devices run in parallel. Rules are reloaded when a rules directory changes;
// a kernel buffer overflow triggers a rescan of /sys.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ControlServer } from '../reconciler/control.js';
import { bindUnix, closeFd, listen, openSocket, AF_UNIX } from '../reconciler/sys.js';
import { applyEvent, nodePath } from './apply.js';
import { DeviceDb, deviceId, exposeToUdevTools } from './db.js';
import { enumerate, requestEvent } from './enumerate.js';
import { LinkStacks } from './links.js';
import { MonitorSender } from './monitor.js';
import { EventQueue, type QueuedEvent } from './queue.js';
import { ruleDirs } from './rulesfiles.js';
import { runAfterEvent } from './run.js';
import { UeventListener, type Uevent } from './uevents.js';
import { NodeWatch } from './watch.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker.js';

export interface DaemonOptions {
  runDir: string;
  devDir: string;
  rulesDirs?: string[];
  /** Worker threads; udev's --children-max. */
  childrenMax?: number;
  /** Seconds an event's programs may run (udev's --event-timeout, default 180). */
  eventTimeout?: number;
  /** Log every processed event. */
  debug?: boolean;
  log?: (line: string) => void;
  /** Called once `devctl control --exit` has been carried out. */
  onExit?: () => void;
}

interface Job extends QueuedEvent {
  action: string;
  properties: Record<string, string>;
}

const SOCK_STREAM = 1;

export class Devmaster {
  private readonly queue = new EventQueue<Job>();
  private readonly idle: Worker[] = [];
  private readonly workers: Worker[] = [];
  private readonly busy = new Map<number, { job: Job; worker: Worker }>();
  private readonly settleWaiters: (() => void)[] = [];
  private readonly sender = new MonitorSender();
  private readonly db: DeviceDb;
  private readonly links: LinkStacks;
  private readonly rulesDirs: string[];
  private readonly log: (line: string) => void;
  private readonly timeout: number;
  private kernel?: UeventListener;
  private control?: ControlServer;
  private watchers: fs.FSWatcher[] = [];
  private reloadTimer?: NodeJS.Timeout;
  private exiting?: Promise<void>;
  /** Numbers for events without a SEQNUM, and for the jobs handed to workers. */
  private seq = 0;
  private jobs = 0;
  private scheduled = false;
  private readonly warned = new Set<string>();
  /** The kernel's properties of each device's last event, by device id: what a rescan's `remove` is made of. */
  private readonly known = new Map<string, Record<string, string>>();
  private readonly watch: NodeWatch;
  /** Events processed since start, for tests and `devctl control --ping`. */
  processed = 0;

  constructor(private readonly opts: DaemonOptions) {
    this.db = new DeviceDb(opts.runDir);
    this.links = new LinkStacks(path.join(opts.runDir, 'links'), opts.devDir);
    this.rulesDirs = opts.rulesDirs ?? ruleDirs;
    this.log = opts.log ?? ((l) => process.stderr.write(`devmaster: ${l}\n`));
    this.timeout = opts.eventTimeout ?? 180;
    this.watch = new NodeWatch('/sys', (w) => this.log(w));
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.opts.runDir, { recursive: true, mode: 0o755 });
    if (this.opts.runDir === '/run/devmaster') exposeToUdevTools(this.db);
    const config: WorkerConfig = { rulesDirs: this.rulesDirs, runDir: this.opts.runDir, timeout: this.timeout };
    const n = this.opts.childrenMax ?? Math.max(2, os.availableParallelism() * 2);
    await Promise.all(Array.from({ length: n }, (_, i) => this.spawnWorker(config, i === 0)));
    this.kernel = new UeventListener(
      (e) => this.enqueue(e),
      () => {
        this.log('the kernel dropped events (receive buffer full): rescanning /sys');
        this.rescan();
      },
    );
    await this.openControl();
    this.watchRules();
  }

  private spawnWorker(config: WorkerConfig, report: boolean): Promise<void> {
    // A small young generation: an event's garbage dies young, and V8's default lets each thread hold ~40 MB more.
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: config, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.workers.push(w);
    return new Promise((resolve, reject) => {
      w.on('error', (e) => {
        this.log(`a worker died: ${e.message}`);
        reject(e);
      });
      // A worker that dies later (out of memory, a bug) gives up its event and is replaced, so the queue never stalls.
      w.on('exit', () => {
        if (this.exiting) return;
        this.workers.splice(this.workers.indexOf(w), 1);
        if (this.idle.includes(w)) this.idle.splice(this.idle.indexOf(w), 1);
        for (const [id, b] of this.busy) {
          if (b.worker !== w) continue;
          this.busy.delete(id);
          this.log(`${b.job.action} ${b.job.devpath}: its worker died; the event is dropped`);
          this.complete(b.job);
        }
        this.spawnWorker(config, false).catch(() => {});
      });
      w.on('message', (m: FromWorker) => {
        if (m.type === 'loaded') {
          if (report) {
            this.log(`rules: ${m.rules} from ${m.files} files`);
            for (const d of m.diagnostics) this.log(d);
          }
          if (!this.idle.includes(w) && ![...this.busy.values()].some((b) => b.worker === w)) this.idle.push(w);
          resolve();
          this.schedule();
        } else this.finish(w, m);
      });
    });
  }

  /** A kernel uevent (or a synthesised one) into the queue. */
  enqueue(e: Pick<Uevent, 'action' | 'devpath' | 'properties'>): void {
    const p = e.properties;
    const major = p.MAJOR;
    this.queue.push({
      seqnum: Number(p.SEQNUM) || ++this.seq,
      devpath: e.devpath,
      devpathOld: p.DEVPATH_OLD,
      devnum: major !== undefined && major !== '0' ? `${p.SUBSYSTEM === 'block' ? 'b' : 'c'}${major}:${p.MINOR}` : undefined,
      ifindex: p.IFINDEX,
      action: e.action,
      properties: p,
    });
    this.schedule();
  }

  /** Hands out work once per turn of the event loop, however many events arrived or finished in it. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const job of this.queue.take(this.idle.length)) {
      const worker = this.idle.pop()!;
      const seq = ++this.jobs;
      this.busy.set(seq, { job, worker });
      worker.postMessage({ type: 'event', seq, action: job.action, devpath: job.devpath, properties: job.properties } satisfies ToWorker);
    }
  }

  private finish(worker: Worker, m: Exclude<FromWorker, { type: 'loaded' }>): void {
    const b = this.busy.get(m.seq);
    if (!b) return;
    this.busy.delete(m.seq);
    this.idle.push(worker);
    const { job } = b;
    const done = () => this.complete(job);
    if (m.type === 'failed') {
      this.log(`${job.action} ${job.devpath}: ${m.error}`);
      return done();
    }
    if (job.action === 'remove') this.known.delete(m.id);
    else this.known.set(m.id, job.properties);
    let applied;
    try {
      applied = applyEvent({ db: this.db, links: this.links, devDir: this.opts.devDir }, job, m.id, m.outcome);
    } catch (e) {
      this.log(`${job.action} ${job.devpath}: cannot apply: ${(e as Error).message}`);
      return done();
    }
    for (const w of applied.warnings) this.warn(job, w);
    this.watch.update(job.devpath, nodePath(this.opts.devDir, job.properties.DEVNAME), job.action !== 'remove' && m.outcome.watch === true);
    if (this.opts.debug) this.log(`${job.action} ${job.devpath} (${job.properties.SUBSYSTEM}): ${m.outcome.links.length} links, tags ${m.outcome.tags.join(',') || 'none'}`);
    runAfterEvent(m.outcome.run, applied.properties, this.timeout, (w) => this.warn(job, w)).then(() => {
      try {
        this.sender.send(applied.properties);
      } catch (e) {
        this.log(`cannot broadcast ${job.devpath}: ${(e as Error).message}`);
      }
      done();
    });
  }

  private complete(job: Job): void {
    this.queue.done(job);
    this.processed++;
    this.schedule();
    if (this.queue.idle) this.settleWaiters.splice(0).forEach((f) => f());
  }

  /** Each distinct warning once per run: an unsupported builtin in a common rule would otherwise flood the log. */
  private warn(job: Job, w: string): void {
    if (this.warned.has(w)) return;
    this.warned.add(w);
    this.log(`${job.action} ${job.devpath}: ${w}`);
  }

  /**
   * After lost events, as `udevadm trigger` would replay them: the kernel is asked for an `add` of every device in
   * /sys the database lacks and a `change` of every other. Devices gone meanwhile cannot be asked for: a `remove` is
   * made for those this daemon processed (the database keeps no devpath), numbered as the kernel's latest event.
   */
  rescan(): void {
    const seen = new Set<string>();
    for (const d of enumerate('devices')) {
      let id: string;
      try {
        id = deviceId(d);
      } catch {
        continue;
      }
      seen.add(id);
      const asked = requestEvent(d, this.db.read(id) ? 'change' : 'add');
      if (typeof asked === 'string') this.log(asked);
    }
    const seqnum = fs.readFileSync('/sys/kernel/uevent_seqnum', 'utf8').trim();
    for (const [id, last] of this.known) {
      if (!seen.has(id)) this.enqueue({ action: 'remove', devpath: last.DEVPATH, properties: { ...last, ACTION: 'remove', SEQNUM: seqnum } });
    }
  }

  /** Resolves once every event received so far is processed. */
  settle(): Promise<void> {
    return this.queue.idle ? Promise.resolve() : new Promise((r) => this.settleWaiters.push(r));
  }

  reload(): void {
    for (const w of this.workers) w.postMessage({ type: 'reload' } satisfies ToWorker);
  }

  private watchRules(): void {
    // A change in any rules directory reloads every worker's rules, debounced: editors write in several steps.
    for (const dir of this.rulesDirs) {
      try {
        this.watchers.push(
          fs.watch(dir, () => {
            clearTimeout(this.reloadTimer);
            this.reloadTimer = setTimeout(() => {
              this.log(`rules changed in ${dir}: reloading`);
              this.reload();
            }, 100);
          }),
        );
      } catch {
        // a directory that does not exist is not watched (udev does not either)
      }
    }
  }

  private async openControl(): Promise<void> {
    const file = path.join(this.opts.runDir, 'control');
    fs.rmSync(file, { force: true });
    const fd = openSocket(AF_UNIX, SOCK_STREAM, 0, 'socket(AF_UNIX, SOCK_STREAM)');
    try {
      bindUnix(fd, file);
      fs.chmodSync(file, 0o600);
      listen(fd, 128, file);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    const uid = process.getuid!();
    this.control = new ControlServer(
      {
        ping: () => ({ processed: this.processed, queued: this.queue.size }),
        settle: async () => {
          await this.settle();
          return { processed: this.processed };
        },
        reload: () => {
          this.reload();
          return null;
        },
        exit: () => {
          setImmediate(() => void this.exit().then(() => this.opts.onExit?.()));
          return null;
        },
      },
      (peer) => (peer && (peer.uid === 0 || peer.uid === uid) ? null : 'devmaster control is for root only'),
    );
    await this.control.adopt(fd);
  }

  /** Stops taking events, finishes the queued ones, and shuts down. */
  exit(): Promise<void> {
    this.exiting ??= (async () => {
      this.kernel?.close();
      this.watch.close();
      for (const w of this.watchers) w.close();
      clearTimeout(this.reloadTimer);
      await this.settle();
      await this.control?.close();
      fs.rmSync(path.join(this.opts.runDir, 'control'), { force: true });
      await Promise.all(this.workers.map((w) => w.terminate()));
      this.sender.close();
    })();
    return this.exiting;
  }
}

