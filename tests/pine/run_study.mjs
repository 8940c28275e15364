#!/usr/bin/env node
// Run a Pine v5 script with pinets (test-only dev dependency, AGPL-3.0) on bars from a file, offline.
//
//   node run_study.mjs BARS.csv|BARS.json SCRIPT.pine [--inputs '{"Input title": value}']
//        [--alert-mode all|realtime] [--ticker EURUSD] [--timeframe 60] [--syminfo '{"mintick":0.00001}']
//
// BARS.json: array of {openTime|time, open, high, low, close, volume, closeTime?}  (epoch ms, oldest first)
// BARS.csv : lines starting with '#' are comments; then a header row with those column names
//            ("time"/"timestamp" is taken as openTime), then one bar per line.
//
// stdout (one JSON object):
//   {"bars": N,
//    "plots": {"<title>": [value|null, ... one per bar]},      na/NaN -> null; bool plots true/false/null
//    "alerts": [{"bar_index": i, "title": "...", "message": "..."}],   alertcondition events only
//    "strategy": null | {"closedtrades": [...], "opentrades": [...], "netprofit": x}}
// Exit status: 0 ok, 2 usage/input error, 3 pinets transpile/runtime error.
import { readFileSync } from 'node:fs';
import { PineTS, Indicator } from 'pinets';

function die(code, msg) {
    process.stderr.write(msg + '\n');
    process.exit(code);
}

function parseArgs(argv) {
    const pos = [];
    const opts = { inputs: {}, alertMode: 'all', ticker: 'EURUSD', timeframe: '60', syminfo: {} };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--inputs') opts.inputs = JSON.parse(argv[++i]);
        else if (a === '--alert-mode') opts.alertMode = argv[++i];
        else if (a === '--ticker') opts.ticker = argv[++i];
        else if (a === '--timeframe') opts.timeframe = argv[++i];
        else if (a === '--syminfo') opts.syminfo = JSON.parse(argv[++i]);
        else pos.push(a);
    }
    if (pos.length !== 2) {
        die(2, 'usage: node run_study.mjs BARS.csv|BARS.json SCRIPT.pine [--inputs JSON] [--alert-mode all|realtime]');
    }
    return { barsPath: pos[0], pinePath: pos[1], ...opts };
}

function readCsv(text) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const header = lines[0].split(',').map((h) => h.trim());
    return lines.slice(1).map((line) => {
        const cells = line.split(',');
        const r = {};
        header.forEach((h, i) => (r[h] = Number(cells[i])));
        return r;
    });
}

function loadBars(path) {
    const text = readFileSync(path, 'utf8');
    const rows = path.toLowerCase().endsWith('.csv') ? readCsv(text) : JSON.parse(text);
    if (!Array.isArray(rows) || rows.length === 0) die(2, `no bars in ${path}`);
    return rows.map((r, i) => {
        const bar = {
            openTime: Number(r.openTime ?? r.time ?? r.timestamp),
            open: Number(r.open),
            high: Number(r.high),
            low: Number(r.low),
            close: Number(r.close),
            volume: Number(r.volume ?? 0),
        };
        if (r.closeTime != null) bar.closeTime = Number(r.closeTime);
        for (const k of ['openTime', 'open', 'high', 'low', 'close']) {
            if (!Number.isFinite(bar[k])) die(2, `bar ${i}: ${k} is not a number`);
        }
        return bar;
    });
}

// NaN / undefined -> null so the JSON stays valid; everything else unchanged.
const clean = (v) => (v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : v);

function tradeRow(t) {
    const keys = ['id', 'entry_id', 'exit_id', 'entry_bar_index', 'exit_bar_index', 'entry_price',
        'exit_price', 'size', 'qty', 'profit', 'direction', 'exit_comment', 'entry_comment'];
    const row = {};
    for (const k of keys) if (t[k] !== undefined) row[k] = clean(t[k]);
    return row;
}

const args = parseArgs(process.argv.slice(2));
const bars = loadBars(args.barsPath);
const source = readFileSync(args.pinePath, 'utf8');

let ctx;
try {
    // An in-memory provider instead of `new PineTS(bars)`: with a plain array pinets leaves
    // `syminfo` undefined and any syminfo.* reference throws. Nothing here touches the network.
    const provider = {
        getMarketData: async () => bars,
        getSymbolInfo: async (tickerId) => ({
            ticker: tickerId, tickerid: `TEST:${tickerId}`, prefix: 'TEST', root: tickerId,
            description: tickerId, type: 'forex', currency: 'USD', basecurrency: 'EUR',
            timezone: 'Etc/UTC', session: '24x7', mintick: 0.00001, pricescale: 100000, minmove: 1,
            pointvalue: 1, volumetype: 'base', ...args.syminfo,
        }),
        configure() {},
    };
    const pine = new PineTS(provider, args.ticker, args.timeframe);
    pine.setAlertMode(args.alertMode); // 'all': alertcondition fires on every bar, not only the last
    ctx = await pine.run(new Indicator(source, args.inputs)); // inputs keyed by input title
} catch (e) {
    die(3, `pinets error: ${e && e.stack ? e.stack : e}`);
}

const plots = {};
for (const [key, plot] of Object.entries(ctx.plots)) {
    if (key.startsWith('__')) continue; // __labels__, __lines__, __boxes__, ... (drawing objects)
    plots[key] = plot.data.map((p) => clean(p.value));
}
const alerts = ctx.alerts
    .filter((a) => a.type === 'alertcondition')
    .map((a) => ({ bar_index: a.bar_index, title: a.title, message: a.message }));
const st = ctx.strategy;
const strategy = st
    ? {
        closedtrades: (st.closedtrades ?? []).map(tradeRow),
        opentrades: (st.opentrades ?? []).map(tradeRow),
        netprofit: clean(typeof st.netprofit === 'number' ? st.netprofit : null),
    }
    : null;

process.stdout.write(JSON.stringify({ bars: bars.length, plots, alerts, strategy }) + '\n');
