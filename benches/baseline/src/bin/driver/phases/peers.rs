//! The tools users would pick instead, when installed: Node-RED (http in -> function -> http
//! response) and adnanh/webhook (runs a shell script), both answering a hello with small JSON.

use crate::Ctx;
use crate::proc::{self, Server};
use std::process::Command;
use std::time::Duration;

/// Node-RED serving `GET /hello`, if `--node-red` was given.
pub fn node_red(ctx: &Ctx) -> Option<Result<Server, String>> {
    let (node, red) = ctx.node_red.as_ref()?;
    Some(start_node_red(ctx, node, red))
}

fn start_node_red(ctx: &Ctx, node: &std::path::Path, red: &std::path::Path) -> Result<Server, String> {
    let dir = ctx.work.join("node-red");
    std::fs::create_dir_all(&dir).map_err(|err| err.to_string())?;
    let port = proc::free_port()?;
    let flows = serde_json::json!([
        { "id": "bench", "type": "tab", "label": "bench" },
        { "id": "in", "type": "http in", "z": "bench", "url": "/hello", "method": "get", "wires": [["fn"]] },
        {
            "id": "fn", "type": "function", "z": "bench", "outputs": 1, "wires": [["out"]],
            "func": "const name = msg.req.query.name || 'world';\nmsg.payload = { message: `Hello, ${name}!`, at: new Date().toISOString() };\nreturn msg;"
        },
        { "id": "out", "type": "http response", "z": "bench", "statusCode": "", "headers": {}, "wires": [] }
    ]);
    std::fs::write(dir.join("flows.json"), flows.to_string()).map_err(|err| err.to_string())?;
    let settings = format!(
        "module.exports = {{\n  uiHost: '127.0.0.1',\n  uiPort: {port},\n  httpAdminRoot: false,\n  flowFile: 'flows.json',\n  \
         userDir: {dir:?},\n  credentialSecret: false,\n  diagnostics: {{ enabled: false }},\n  telemetry: {{ enabled: false }},\n  \
         logging: {{ console: {{ level: 'warn', metrics: false, audit: false }} }},\n}};\n",
        dir = dir.display().to_string()
    );
    std::fs::write(dir.join("settings.js"), settings).map_err(|err| err.to_string())?;
    let mut command = Command::new(node);
    command
        .arg(red)
        .arg("--settings")
        .arg(dir.join("settings.js"))
        .arg("--userDir")
        .arg(&dir)
        .env("NODE_ENV", "production");
    Server::on_port("Node-RED", command, port, "/hello", &ctx.log("node-red"), Duration::from_secs(90))
}

/// adnanh/webhook serving `GET /hooks/hello`, if `--webhook` was given.
pub fn webhook(ctx: &Ctx) -> Option<Result<Server, String>> {
    let binary = ctx.webhook.as_ref()?;
    Some(start_webhook(ctx, binary))
}

fn start_webhook(ctx: &Ctx, binary: &std::path::Path) -> Result<Server, String> {
    let dir = ctx.work.join("webhook");
    std::fs::create_dir_all(&dir).map_err(|err| err.to_string())?;
    let script = dir.join("hello.sh");
    std::fs::write(&script, "#!/bin/sh\nprintf '{\"message\": \"Hello, %s!\"}\\n' \"${1:-world}\"\n")
        .map_err(|err| err.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).map_err(|err| err.to_string())?;
    let hooks = serde_json::json!([{
        "id": "hello",
        "execute-command": script,
        "command-working-directory": dir,
        "include-command-output-in-response": true,
        "response-headers": [{ "name": "Content-Type", "value": "application/json" }],
        "pass-arguments-to-command": [{ "source": "url", "name": "name" }]
    }]);
    std::fs::write(dir.join("hooks.json"), hooks.to_string()).map_err(|err| err.to_string())?;
    let port = proc::free_port()?;
    let mut command = Command::new(binary);
    command.arg("-hooks").arg(dir.join("hooks.json")).args(["-ip", "127.0.0.1", "-port"]).arg(port.to_string());
    Server::on_port("adnanh/webhook", command, port, "/hooks/hello", &ctx.log("webhook"), Duration::from_secs(20))
}

/// "Node-RED 4.1.15 on Node.js v20.20.2" and "adnanh/webhook 2.8.0", for the report.
pub fn versions(ctx: &Ctx) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((node, red)) = &ctx.node_red {
        let package = red.with_file_name("package.json");
        let version = std::fs::read_to_string(package)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(String::from))
            .unwrap_or_else(|| "?".into());
        let node_version = Command::new(node)
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .unwrap_or_default();
        out.push(format!("Node-RED {version} on Node.js {node_version}"));
    }
    if let Some(webhook) = &ctx.webhook {
        let version = Command::new(webhook)
            .arg("-version")
            .output()
            .map(|out| format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
            .unwrap_or_default();
        out.push(format!("adnanh/{}", version.lines().next().unwrap_or("webhook").trim()));
    }
    out
}
