//! `fs` confined to the hub folder and its `[fs] roots`, against real files and symlinks.

use crate::harness::Hub;
use serde_json::json;
use std::os::unix::fs::symlink;

#[test]
fn every_function_round_trips_through_real_files() {
    let hub = Hub::new();
    hub.file("inbox/b.txt", "bee").file("inbox/a.txt", "ay");
    hub.script(
        "files",
        r#"
        fs::write("out/deep/note.txt", "hello");
        fs::append("out/deep/note.txt", ", world");
        fs::append("out/log.txt", "one\n");
        fs::write("out/bytes.bin", blob(3, 255));
        fs::mkdir("made/a/b");
        fs::copy("out/deep/note.txt", "copies/note.txt");
        fs::copy("out/deep", "copies/tree");
        fs::move("inbox/b.txt", "moved/b.txt");
        fs::rename("moved/b.txt", "moved/c.txt");
        let listed = fs::list("inbox");
        #{
            text: fs::read("out/deep/note.txt"),
            log: fs::read("out/log.txt"),
            bytes: fs::read_bytes("out/bytes.bin"),
            copied: fs::read("copies/note.txt"),
            tree: fs::read("copies/tree/note.txt"),
            moved: fs::read("moved/c.txt"),
            made: fs::exists("made/a/b"),
            gone: fs::exists("inbox/b.txt"),
            names: listed.map(|e| e.name),
            paths: listed.map(|e| e.path),
            first: listed[0],
            modified_type: type_of(listed[0].modified),
            modified_recent: listed[0].modified.year >= 2024,
            root: fs::list(".").filter(|e| e.dir).map(|e| e.name),
        }
        "#,
    );
    let out = hub.run("files", "{}").json();
    assert_eq!(out["text"], json!("hello, world"));
    assert_eq!(out["log"], json!("one\n"));
    assert_eq!(out["bytes"], json!([255, 255, 255]));
    assert_eq!(out["copied"], json!("hello, world"));
    assert_eq!(out["tree"], json!("hello, world"));
    assert_eq!(out["moved"], json!("bee"));
    assert_eq!(out["made"], json!(true));
    assert_eq!(out["gone"], json!(false));
    assert_eq!(out["names"], json!(["a.txt"]));
    assert_eq!(out["paths"], json!(["inbox/a.txt"]));
    assert_eq!(out["first"]["dir"], json!(false));
    assert_eq!(out["first"]["size"], json!(2));
    assert!(out["first"]["modified"].as_str().is_some_and(|t| t.contains('T')), "{out}");
    assert_eq!(out["modified_type"], json!("Time"));
    assert_eq!(out["modified_recent"], json!(true));
    assert_eq!(out["root"], json!(["copies", "inbox", "made", "moved", "out", "scripts"]));
    assert_eq!(hub.read("out/deep/note.txt"), "hello, world");
    assert!(hub.path().join("moved/c.txt").is_file());
    assert!(!hub.path().join("inbox/b.txt").exists());
}

#[test]
fn remove_takes_files_empty_folders_and_trees_on_request() {
    let hub = Hub::new();
    hub.file("junk/file.txt", "x").file("junk/tree/inner/deep.txt", "y");
    std::fs::create_dir_all(hub.path().join("junk/empty")).unwrap();
    hub.script(
        "clean",
        r#"
        let file = fs::remove("junk/file.txt");
        let empty = fs::remove("junk/empty");
        let missing = fs::remove("junk/never-there");
        let refused = "";
        try { fs::remove("junk/tree"); } catch (err) { refused = err; }
        let tree = fs::remove("junk/tree", #{ recursive: true });
        #{ file: file, empty: empty, missing: missing, refused: refused, tree: tree, left: fs::list("junk") }
        "#,
    );
    let out = hub.run("clean", "{}").json();
    assert_eq!(out["file"], json!(true));
    assert_eq!(out["empty"], json!(true));
    assert_eq!(out["missing"], json!(false));
    assert_eq!(out["tree"], json!(true));
    assert_eq!(out["left"], json!([]));
    let refused = out["refused"].as_str().unwrap();
    assert!(refused.starts_with("fs.remove: `junk/tree`") && refused.contains("recursive: true"), "{refused}");
    assert!(hub.path().join("junk").is_dir());
}

#[test]
fn csv_with_quotes_commas_and_newlines_round_trips() {
    let hub = Hub::new();
    hub.script(
        "csv",
        r#"
        let rows = [
            #{ id: 1, name: "Ada, Countess", note: "said \"hi\"" },
            #{ id: 2, name: "Grace", note: "line one\nline two" },
            #{ id: 3, name: "", note: () },
        ];
        fs::write_csv("data/people.csv", rows);
        fs::write_csv("data/ordered.csv", rows, #{ headers: ["name", "id"] });
        fs::write_csv("data/semi.csv", rows, #{ delimiter: ";" });
        #{
            back: fs::read_csv("data/people.csv"),
            ordered: fs::read("data/ordered.csv"),
            semi: fs::read_csv("data/semi.csv", #{ delimiter: ";" }),
            raw: fs::read_csv("data/people.csv", #{ headers: false }),
        }
        "#,
    );
    let out = hub.run("csv", "{}").json();
    let expected = json!([
        {"id": "1", "name": "Ada, Countess", "note": "said \"hi\""},
        {"id": "2", "name": "Grace", "note": "line one\nline two"},
        {"id": "3", "name": "", "note": ""}
    ]);
    assert_eq!(out["back"], expected);
    assert_eq!(out["semi"], expected);
    assert_eq!(out["ordered"], json!("name,id\n\"Ada, Countess\",1\nGrace,2\n,3\n"));
    assert_eq!(out["raw"][0], json!(["id", "name", "note"]));
    assert_eq!(
        hub.read("data/people.csv"),
        "id,name,note\n1,\"Ada, Countess\",\"said \"\"hi\"\"\"\n2,Grace,\"line one\nline two\"\n3,,\n"
    );
}

#[test]
fn csv_written_elsewhere_is_read_with_its_delimiter() {
    let hub = Hub::new();
    hub.file("inbox/orders.csv", "\u{feff}order;total\n\"A;1\";9.50\nB2;3\n");
    hub.script("orders", r#"fs::read_csv("inbox/orders.csv", #{ delimiter: ";" })"#);
    assert_eq!(
        hub.run("orders", "{}").json(),
        json!([{"order": "A;1", "total": "9.50"}, {"order": "B2", "total": "3"}])
    );
}

#[test]
fn csv_rows_with_keys_the_first_row_lacks_are_refused() {
    let hub = Hub::new();
    hub.script("extra", r#"fs::write_csv("out.csv", [#{ a: 1 }, #{ a: 2, b: 3 }])"#);
    hub.run("extra", "{}").fails_with(1, &["fs.write_csv: row 1 has the key `b`", "headers"]);
}

#[test]
fn parent_escapes_are_refused() {
    let hub = Hub::new();
    for (name, source, fragment) in [
        (
            "read_up",
            r#"fs::read("../outside.txt")"#,
            "fs.read: `../outside.txt` is outside the hub folder and [fs] roots",
        ),
        (
            "write_up",
            r#"fs::write("scripts/../../outside.txt", "x")"#,
            "fs.write: `scripts/../../outside.txt` is outside",
        ),
        ("write_missing_up", r#"fs::write("nope/../../outside.txt", "x")"#, "fs.write: `nope/../../outside.txt`: `..`"),
        ("list_up", r#"fs::list("..")"#, "fs.list: `..` is outside"),
        ("copy_up", r#"fs::write("a.txt", "a"); fs::copy("a.txt", "../a.txt")"#, "fs.copy: `../a.txt` is outside"),
    ] {
        hub.script(name, source);
        hub.run(name, "{}").fails_with(1, &[fragment]);
    }
    let parent = hub.path().parent().unwrap();
    assert!(!parent.join("outside.txt").exists());
    assert!(!parent.join("a.txt").exists());
}

#[test]
fn absolute_paths_outside_the_hub_are_refused() {
    let hub = Hub::new();
    hub.script("passwd", r#"fs::read("/etc/passwd")"#);
    hub.run("passwd", "{}").fails_with(1, &["fs.read: `/etc/passwd` is outside the hub folder and [fs] roots"]);
    hub.script("exists", r#"fs::exists("/etc")"#);
    hub.run("exists", "{}").fails_with(1, &["fs.exists: `/etc` is outside"]);
    // An absolute path into the hub itself is fine.
    hub.file("inside.txt", "in");
    let inside = hub.path().join("inside.txt");
    hub.script("absolute", &format!("fs::read({:?})", inside.to_str().unwrap()));
    assert_eq!(hub.run("absolute", "{}").json(), json!("in"));
}

#[test]
fn symlinks_pointing_outside_the_hub_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    let hub = Hub::new();
    symlink(outside.path(), hub.path().join("door")).unwrap();
    symlink(outside.path().join("secret.txt"), hub.path().join("secret-link")).unwrap();
    symlink(outside.path().join("planted.txt"), hub.path().join("dangling")).unwrap();
    for (name, source, fragment) in [
        ("through_dir", r#"fs::read("door/secret.txt")"#, "fs.read: `door/secret.txt` is outside"),
        ("file_link", r#"fs::read("secret-link")"#, "fs.read: `secret-link` is outside"),
        ("write_through", r#"fs::write("door/new.txt", "x")"#, "fs.write: `door/new.txt` is outside"),
        ("list_through", r#"fs::list("door")"#, "fs.list: `door` is outside"),
        ("copy_out", r#"fs::copy("secret-link", "stolen.txt")"#, "fs.copy: `secret-link` is outside"),
        (
            "dangling",
            r#"fs::write("dangling", "x")"#,
            "fs.write: `dangling`: it leads through a link to something that does not exist",
        ),
        (
            "move_into",
            r#"fs::write("x.txt", "x"); fs::move("x.txt", "door/x.txt")"#,
            "fs.move: `door/x.txt` is outside",
        ),
    ] {
        hub.script(name, source);
        hub.run(name, "{}").fails_with(1, &[fragment]);
    }
    assert!(!outside.path().join("new.txt").exists());
    assert!(!outside.path().join("planted.txt").exists());
    assert!(!outside.path().join("x.txt").exists());
    assert!(!hub.path().join("stolen.txt").exists());

    // Listing shows the links without following them; removing one removes only the link.
    hub.script(
        "tidy",
        r#"
        let links = fs::list(".").filter(|e| e.name == "door" || e.name == "secret-link");
        #{ links: links.map(|e| [e.name, e.dir]), removed: fs::remove("door", #{ recursive: true }) && fs::remove("secret-link") }
        "#,
    );
    let out = hub.run("tidy", "{}").json();
    assert_eq!(out["links"], json!([["door", false], ["secret-link", false]]));
    assert_eq!(out["removed"], json!(true));
    assert_eq!(std::fs::read_to_string(outside.path().join("secret.txt")).unwrap(), "top secret");
    assert!(!hub.path().join("door").exists());
}

#[test]
fn symlinks_within_the_hub_are_followed() {
    let hub = Hub::new();
    hub.file("real/data.txt", "inside");
    symlink(hub.path().join("real"), hub.path().join("alias")).unwrap();
    hub.script(
        "alias",
        r#"#{ text: fs::read("alias/data.txt"), dir: fs::list(".").filter(|e| e.name == "alias")[0].dir }"#,
    );
    assert_eq!(hub.run("alias", "{}").json(), json!({"text": "inside", "dir": true}));
}

#[test]
fn declared_roots_outside_the_hub_are_allowed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("incoming.txt"), "from elsewhere").unwrap();
    let root = outside.path().canonicalize().unwrap();
    let hub = Hub::new();
    hub.manifest(&format!("[fs]\nroots = [{:?}]\n", root.to_str().unwrap()));
    hub.script(
        "roots",
        r#"
        let root = input.root;
        fs::write(`${root}/sub/out.txt`, "written");
        fs::move(`${root}/incoming.txt`, "local/incoming.txt");
        #{ listed: fs::list(root).map(|e| e.path), back: fs::read("local/incoming.txt") }
        "#,
    );
    let input = json!({"root": root}).to_string();
    let out = hub.run("roots", &input).json();
    assert_eq!(out["listed"], json!([format!("{}/sub", root.display())]));
    assert_eq!(out["back"], json!("from elsewhere"));
    assert_eq!(std::fs::read_to_string(root.join("sub/out.txt")).unwrap(), "written");
    assert!(!root.join("incoming.txt").exists());

    // `..` out of a root is still refused.
    hub.script("sibling", r#"fs::exists(`${input.root}/../`)"#);
    hub.run("sibling", &input).fails_with(1, &["fs.exists:", "is outside the hub folder and [fs] roots"]);
}

#[test]
fn a_root_that_does_not_exist_is_a_configuration_error() {
    let hub = Hub::new();
    hub.manifest("[fs]\nroots = [\"/definitely/not/here\"]\n");
    hub.script("noop", "1");
    hub.run("noop", "{}").fails_with(2, &["fs.roots[0]", "/definitely/not/here"]);
}

#[test]
fn errors_are_catchable_and_name_the_path_as_written() {
    let hub = Hub::new();
    std::fs::write(hub.path().join("bin.dat"), [0xff, 0xfe, 0x00]).unwrap();
    hub.script(
        "catch",
        r#"
        let caught = [];
        try { fs::read("missing.txt"); } catch (err) { caught.push(err); }
        try { fs::read("../escape.txt"); } catch (err) { caught.push(err); }
        try { fs::read("bin.dat"); } catch (err) { caught.push(err); }
        try { fs::write("x.txt", #{ a: 1 }); } catch (err) { caught.push(err); }
        try { fs::remove("."); } catch (err) { caught.push(err); }
        try { fs::read_csv("missing.csv", #{ delimter: ";" }); } catch (err) { caught.push(err); }
        try { fs::list("bin.dat"); } catch (err) { caught.push(err); }
        caught
        "#,
    );
    assert_eq!(
        hub.run("catch", "{}").json(),
        json!([
            "fs.read: `missing.txt`: it does not exist",
            "fs.read: `../escape.txt` is outside the hub folder and [fs] roots",
            "fs.read: `bin.dat` is not UTF-8 text; use fs::read_bytes",
            "fs.write: expected text or a blob, not map; use json::stringify for other values",
            "fs.remove: `.` is the hub folder or an [fs] root and cannot be removed",
            "fs.read_csv: unknown option `delimter` (expected delimiter, headers)",
            "fs.list: `bin.dat` is a file, not a folder"
        ])
    );
}

#[test]
fn roots_lists_the_declared_folders() {
    let outside = tempfile::tempdir().unwrap();
    let hub = Hub::new();
    hub.manifest("[fs]\nroots = [\"${SB_VAULT}\"]\n")
        .file(".env", &format!("SB_VAULT={}\n", outside.path().display()))
        .script("roots", r#"let vault = fs::roots()[0]; fs::write(`${vault}/note.md`, "hi"); fs::roots()"#);
    let canonical = outside.path().canonicalize().unwrap();
    assert_eq!(hub.run("roots", "{}").json(), serde_json::json!([canonical.display().to_string()]));
    assert_eq!(std::fs::read_to_string(outside.path().join("note.md")).unwrap(), "hi");
}

/// A hub with a `.env`, a store (made by a first run), a REPL history and a link to `.env`.
fn hub_with_own_files() -> Hub {
    let hub = Hub::new();
    hub.file(".env", "SB_TOKEN=hunter2\n")
        .file(".switchboard_history", "let token = \"hunter2\";\n")
        .file("public/index.html", "<h1>hi</h1>")
        .file("data/notes.txt", "mine")
        .script("noop", "1");
    symlink(hub.path().join(".env"), hub.path().join("public/env-link")).unwrap();
    hub.run("noop", "{}").json();
    assert!(hub.path().join("data/switchboard.db").is_file());
    hub
}

#[test]
fn the_hubs_secret_and_store_files_are_refused_by_every_function() {
    let hub = hub_with_own_files();
    // The route `/static/*file` of the issue, fed `../.env`.
    hub.script("static", "fs::read(`public/${input.file}`)");
    hub.run("static", r#"{"file": "../.env"}"#).fails_with(
        1,
        &["fs.read: `public/../.env` is the hub's secret file (.env); scripts may not read it (set [fs] allow_hub_files = true to allow)"],
    );
    hub.script(
        "probe",
        r#"
        let caught = [];
        for attempt in [
            || fs::read(".env"), || fs::read("./.env"), || fs::read("public/../.env"),
            || fs::read("public/env-link"), || fs::read_bytes(".env"), || fs::read_csv(".env"),
            || fs::read(".ENV"), || fs::exists(".env"), || fs::list(".env"),
            || fs::write(".env", "SB_TOKEN=mine"), || fs::append(".env", "X=1"),
            || fs::write_csv(".env", []), || fs::remove(".env"), || fs::write("public/env-link", "x"),
            || fs::copy(".env", "public/stolen"), || fs::move(".env", "public/stolen"),
            || fs::move("public/index.html", ".env"), || fs::mkdir(".env"),
            || fs::read("data/switchboard.db"), || fs::read_bytes("data/switchboard.db-wal"),
            || fs::read("data/switchboard.db-shm"), || fs::write("data/switchboard.db-journal", ""),
            || fs::remove("data/switchboard.db"), || fs::read(".switchboard_history"),
            || fs::remove("data", #{ recursive: true }), || fs::move("data", "old-data"),
            || fs::copy("data", "public/data"), || fs::copy(".", "public/backup"),
        ] {
            try { attempt.call(); caught.push("allowed"); } catch (err) { caught.push(err); }
        }
        caught
        "#,
    );
    let out = hub.run("probe", "{}").json();
    let caught: Vec<&str> = out.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let expected = [
        "fs.read: `.env` is the hub's secret file; scripts may not read it (set [fs] allow_hub_files = true to allow)",
        "fs.read: `./.env` is the hub's secret file (.env); scripts may not read it",
        "fs.read: `public/../.env` is the hub's secret file (.env); scripts may not read it",
        "fs.read: `public/env-link` is the hub's secret file (.env); scripts may not read it",
        "fs.read_bytes: `.env` is the hub's secret file; scripts may not read it",
        "fs.read_csv: `.env` is the hub's secret file; scripts may not read it",
        "fs.read: `.ENV` is the hub's secret file (.env); scripts may not read it",
        "fs.exists: `.env` is the hub's secret file; scripts may not look at it",
        "fs.list: `.env` is the hub's secret file; scripts may not look at it",
        "fs.write: `.env` is the hub's secret file; scripts may not change it",
        "fs.append: `.env` is the hub's secret file; scripts may not change it",
        "fs.write_csv: `.env` is the hub's secret file; scripts may not change it",
        "fs.remove: `.env` is the hub's secret file; scripts may not change it",
        "fs.write: `public/env-link` is the hub's secret file (.env); scripts may not change it",
        "fs.copy: `.env` is the hub's secret file; scripts may not read it",
        "fs.move: `.env` is the hub's secret file; scripts may not change it",
        "fs.move: `.env` is the hub's secret file; scripts may not change it",
        "fs.mkdir: `.env` is the hub's secret file; scripts may not change it",
        "fs.read: `data/switchboard.db` is the hub's store; scripts may not read it",
        "fs.read_bytes: `data/switchboard.db-wal` is the hub's store; scripts may not read it",
        "fs.read: `data/switchboard.db-shm` is the hub's store; scripts may not read it",
        "fs.write: `data/switchboard.db-journal` is the hub's store; scripts may not change it",
        "fs.remove: `data/switchboard.db` is the hub's store; scripts may not change it",
        "fs.read: `.switchboard_history` is the REPL's history; scripts may not read it",
        "fs.remove: `data` holds the hub's store (data/switchboard.db); scripts may not change it",
        "fs.move: `data` holds the hub's store (data/switchboard.db); scripts may not change it",
        "fs.copy: `data` holds the hub's store (data/switchboard.db); scripts may not read it",
        "fs.copy: `.` holds the hub's secret file (.env); scripts may not read it",
    ];
    assert_eq!(caught.len(), expected.len(), "{out:#}");
    for (got, want) in caught.iter().zip(expected) {
        assert!(got.starts_with(want), "expected {want:?}\n     got {got:?}");
    }
    assert_eq!(hub.read(".env"), "SB_TOKEN=hunter2\n");
    assert!(hub.path().join("data/switchboard.db").is_file());
    assert!(!hub.path().join("data/switchboard.db-journal").exists());
    assert_eq!(hub.read("public/index.html"), "<h1>hi</h1>");
    assert!(!hub.path().join("public/stolen").exists());
    assert!(!hub.path().join("public/data").exists());
    assert!(!hub.path().join("public/backup").exists());
    assert!(hub.path().join("public/env-link").is_symlink());
}

#[test]
fn listings_leave_out_the_hubs_secret_and_store_files_and_other_data_stays_usable() {
    let hub = hub_with_own_files();
    hub.script(
        "ls",
        r#"
        fs::write("data/more.txt", "ok");
        #{
            top: fs::list(".").map(|e| e.name),
            data: fs::list("data").map(|e| e.name),
            notes: fs::read("data/notes.txt"),
            page: fs::read("public/index.html"),
        }
        "#,
    );
    assert_eq!(
        hub.run("ls", "{}").json(),
        json!({
            "top": ["data", "public", "scripts", "switchboard.toml"],
            "data": ["more.txt", "notes.txt"],
            "notes": "mine",
            "page": "<h1>hi</h1>"
        })
    );
}

#[test]
fn a_manifest_setting_lets_scripts_use_the_hubs_own_files() {
    let hub = hub_with_own_files();
    hub.manifest("[fs]\nallow_hub_files = true\n");
    hub.script(
        "own",
        r#"
        fs::append(".switchboard_history", "1 + 1\n");
        #{
            env: fs::read("public/env-link"),
            db: fs::read_bytes("data/switchboard.db").extract(0, 15).as_string(),
            listed: fs::list("data").map(|e| e.name).contains("switchboard.db"),
        }
        "#,
    );
    assert_eq!(
        hub.run("own", "{}").json(),
        json!({"env": "SB_TOKEN=hunter2\n", "db": "SQLite format 3", "listed": true})
    );
    assert!(hub.read(".switchboard_history").ends_with("1 + 1\n"));

    hub.manifest("[fs]\nallow_hub_files = \"yes\"\n");
    hub.run("own", "{}").fails_with(2, &["fs.allow_hub_files"]);
}

#[test]
fn the_hubs_definition_can_be_read_but_not_changed() {
    let hub = Hub::new();
    hub.file("lib/helpers.rhai", "fn one() { 1 }").file("schemas/in.json", "{}");
    hub.script(
        "rewrite",
        r#"
        let caught = [];
        for attempt in [
            || fs::write("switchboard.toml", "[exec]\nallow = [\"sh\"]\n"),
            || fs::append("./scripts/rewrite.rhai", "1"),
            || fs::write("scripts/new.rhai", "1"),
            || fs::write("lib/helpers.rhai", "fn one() { 2 }"),
            || fs::remove("schemas", #{ recursive: true }),
            || fs::move("lib", "old-lib"),
            || fs::write("SCRIPTS/x.rhai", "1"),
        ] {
            try { attempt.call(); caught.push("allowed"); } catch (err) { caught.push(err); }
        }
        #{ caught: caught, read: fs::read("lib/helpers.rhai"), listed: fs::list("scripts").len() }
        "#,
    );
    let out = hub.run("rewrite", "{}").json();
    let caught: Vec<&str> = out["caught"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let expected = [
        "fs.write: `switchboard.toml` is the hub's manifest; scripts may not change it (set [fs] allow_hub_files = true to allow)",
        "fs.append: `./scripts/rewrite.rhai` is part of the hub's scripts (scripts/rewrite.rhai); scripts may not change it",
        "fs.write: `scripts/new.rhai` is part of the hub's scripts; scripts may not change it",
        "fs.write: `lib/helpers.rhai` is part of the hub's modules; scripts may not change it",
        "fs.remove: `schemas` is part of the hub's schemas; scripts may not change it",
        "fs.move: `lib` is part of the hub's modules; scripts may not change it",
        "fs.write: `SCRIPTS/x.rhai` is part of the hub's scripts; scripts may not change it",
    ];
    assert_eq!(caught.len(), expected.len(), "{out:#}");
    for (got, want) in caught.iter().zip(expected) {
        assert!(got.starts_with(want), "expected {want:?}\n     got {got:?}");
    }
    assert_eq!(out["read"], json!("fn one() { 1 }"));
    assert_eq!(out["listed"], json!(1));
    assert_eq!(hub.read("switchboard.toml"), "");
    assert!(hub.path().join("schemas/in.json").exists());
}
