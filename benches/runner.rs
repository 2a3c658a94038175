//! Criterion micro-benchmarks of one run through the library API (`Snapshot::load`,
//! `runner::run`): a trivial script end to end (input mapping, evaluation, result mapping and the
//! run-log record), with an HTTP-shaped `event`, the same without the record, the cached AST
//! evaluated alone, a 1,000-iteration loop, and one SQLite query through `sql`. `benches/run.sh`
//! runs them and BENCHMARKS.md has the figures.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use switchboard::engine::context::{self, RunState};
use switchboard::hub::Snapshot;
use switchboard::runner::{self, Event, Invocation, Record};

/// The allocator the `switchboard` binary uses (see `src/main.rs`), so runs cost here what they
/// cost in `serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MANIFEST: &str = r#"
[connections.db]
type = "sqlite"
path = "data/bench.db"
"#;

const SETUP: &str = r#"
let db = sql::connection("db");
db.execute_batch("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)");
db.execute("DELETE FROM tasks", []);
for i in 1..=1000 {
    db.execute("INSERT INTO tasks (id, title, done) VALUES (?, ?, ?)", [i, `task ${i}`, i % 2]);
}
#{ rows: db.query_one("SELECT count(*) AS n FROM tasks", []).n }
"#;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("create the folder");
    std::fs::write(path, text).expect("write the file");
}

/// A hub in a temporary folder: the demo's hello, a loop, and a SQLite-backed lookup.
fn hub() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    write(dir.path(), "switchboard.toml", MANIFEST);
    write(dir.path(), "scripts/hello.rhai", include_str!("../scripts/hello.rhai"));
    write(dir.path(), "scripts/loop.rhai", "let sum = 0;\nfor i in 0..1000 { sum += i; }\n#{ sum: sum }\n");
    write(dir.path(), "scripts/setup.rhai", SETUP);
    write(
        dir.path(),
        "scripts/task.rhai",
        "let db = sql::connection(\"db\");\ndb.query_one(\"SELECT id, title, done FROM tasks WHERE id = ?\", [input.id])\n",
    );
    dir
}

/// The `event` the HTTP trigger builds for `GET /hello?name=bench` from a typical client, as the
/// Rhai map it builds.
fn http_event() -> Event {
    let event = json!({
        "kind": "http",
        "method": "GET",
        "path": "/hello",
        "route": "/hello",
        "params": {},
        "query": { "name": "bench" },
        "headers": { "host": "127.0.0.1:8080", "user-agent": "curl/8.5.0", "accept": "*/*" },
        "body": "",
        "client": null
    });
    Event::stored(&event)
}

/// A manual run that does not echo its lines (as `switchboard run` does).
fn quiet(script: &str, input: &Value) -> Invocation {
    let mut invocation = Invocation::manual(script, input);
    invocation.how.echo = false;
    invocation
}

fn benches(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a tokio runtime");
    let dir = hub();
    let snapshot = match Snapshot::load(dir.path(), runtime.handle().clone()) {
        Ok(snapshot) => snapshot,
        Err(err) => panic!("the bench hub does not load: {err}"),
    };
    let setup = runner::run(&snapshot, quiet("setup", &json!({})));
    assert!(setup.result.is_ok(), "setup failed: {:?}", setup.result);
    let runlog = snapshot.capabilities.host.runlog.clone();
    let input = json!({ "name": "bench" });
    // What the HTTP trigger hands over: the input already a Rhai map.
    let http_input = quiet("hello", &input).job.input;

    let mut group = c.benchmark_group("run");
    group.bench_function("hello", |b| {
        b.iter(|| black_box(runner::run(&snapshot, quiet("hello", &input))));
    });
    runlog.flush();
    group.bench_function("hello_http_event", |b| {
        let event = http_event();
        b.iter(|| black_box(runner::run(&snapshot, Invocation::new("hello", http_input.clone(), event.clone()))));
    });
    runlog.flush();
    group.bench_function("hello_http_event_unrecorded", |b| {
        let event = http_event();
        b.iter(|| {
            let mut invocation = Invocation::new("hello", http_input.clone(), event.clone());
            invocation.how.record = Record::Skip;
            black_box(runner::run(&snapshot, invocation))
        });
    });
    group.bench_function("hello_unrecorded", |b| {
        b.iter(|| {
            let mut invocation = quiet("hello", &input);
            invocation.how.record = Record::Skip;
            black_box(runner::run(&snapshot, invocation))
        });
    });
    group.bench_function("loop_1000_unrecorded", |b| {
        b.iter(|| {
            let mut invocation = quiet("loop", &json!({}));
            invocation.how.record = Record::Skip;
            black_box(runner::run(&snapshot, invocation))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("eval");
    group.bench_function("hello_cached_ast", |b| {
        let ast = snapshot.scripts.get("hello").expect("hello compiled");
        b.iter(|| {
            let active = context::enter(RunState::new(Duration::from_secs(30), 50_000_000));
            let mut scope = rhai::Scope::new();
            scope.push("input", rhai::Map::from_iter([("name".into(), rhai::Dynamic::from("bench"))]));
            scope.push("event", rhai::Map::new());
            let value = snapshot.engine.eval_ast_with_scope::<rhai::Dynamic>(&mut scope, ast);
            black_box((value, active.finish()))
        });
    });
    group.bench_function("loop_1000_cached_ast", |b| {
        let ast = snapshot.scripts.get("loop").expect("loop compiled");
        b.iter(|| {
            let active = context::enter(RunState::new(Duration::from_secs(30), 50_000_000));
            let mut scope = rhai::Scope::new();
            scope.push("input", rhai::Map::new());
            scope.push("event", rhai::Map::new());
            let value = snapshot.engine.eval_ast_with_scope::<rhai::Dynamic>(&mut scope, ast);
            black_box((value, active.finish()))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("sql");
    let mut id = 0u64;
    group.bench_function("query_one", |b| {
        b.iter(|| {
            id = id % 1000 + 1;
            black_box(runner::run(&snapshot, quiet("task", &json!({ "id": id }))))
        });
    });
    group.finish();
    runlog.flush();
}

criterion_group!(runner_benches, benches);
criterion_main!(runner_benches);
