//! What the browser tests share: headless Chromium through chromedriver (Debian packages
//! `chromium` and `chromium-driver`) driven with fantoccini, screenshots kept under
//! `target/test-artifacts/<test>/`, and the layout checks (`layout.js`).

// Each test file uses its own share of these.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bawaba_e2e::{Process, free_addr, workspace_root};
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where a test keeps its screenshots.
pub fn artifacts(test: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-artifacts").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(c: &Client, test: &str, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts(test).join(format!("{name}.png")), png).unwrap();
}

/// `chromedriver` on a free port (its log on stderr, which [`Process`] drains).
pub fn chromedriver() -> (Process, u16) {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: install the Debian packages chromium and chromium-driver (.ci/run does)"
        );
    }
    let port = free_addr().port();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec {CHROMEDRIVER} --port={port} 1>&2"));
    let (p, ()) = Process::spawn(cmd, |l| l.contains("started successfully").then_some(()));
    (p, port)
}

pub async fn browser(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=1280,1800", "--lang=en-GB"
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap()
}

pub async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn cells(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

pub async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

/// Types `value` into the field `css`.
pub async fn fill(c: &Client, css: &str, value: &str) {
    let field = wait_for(c, css).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

pub async fn click(c: &Client, css: &str) {
    wait_for(c, css).await.click().await.unwrap();
}

/// Signs in with a staff or system token.
pub async fn login(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#token", token).await;
    click(c, "#login-submit").await;
}

pub async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Visits each of `pages` (name, path) in English and Arabic at a phone's and a desktop's
/// width, runs `layout.js` on it and keeps a screenshot: the problems found.
pub async fn layout_problems(
    b: &Client,
    base: &str,
    test: &str,
    pages: &[(&str, &str)],
) -> Vec<String> {
    let mut wrong = Vec::new();
    for width in [390, 1400] {
        b.set_window_size(width, 1800).await.unwrap();
        for lang in ["en", "ar"] {
            for (name, path) in pages {
                let sep = if path.contains('?') { '&' } else { '?' };
                b.goto(&format!("{base}{path}{sep}lang={lang}"))
                    .await
                    .unwrap();
                wait_for(b, "main").await;
                let found = b
                    .execute(
                        include_str!("layout.js"),
                        vec![serde_json::json!(lang == "ar")],
                    )
                    .await
                    .unwrap();
                let inner = found["width"].as_u64().unwrap();
                assert!(
                    inner <= u64::from(width),
                    "{width} px asked, {inner} px given"
                );
                for p in found["problems"].as_array().unwrap() {
                    wrong.push(format!("{name} {lang} {width}px: {}", p.as_str().unwrap()));
                }
                screenshot(b, test, &format!("layout-{width}-{lang}-{name}")).await;
            }
        }
    }
    b.set_window_size(1280, 1800).await.unwrap();
    wrong
}

/// Waits until the element `css` holds `needle` (across a page load: an element of the page
/// before may go stale meanwhile): its text.
pub async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(needle) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never held {needle:?}; last {last:?}");
}
