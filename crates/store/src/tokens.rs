//! API tokens. A token is shown once, when issued; only its SHA-256 hash is kept, one line
//! per token in `DATA_DIR/tokens`:
//!
//! ```text
//! v1 <sha256 hex> <role> <company or -> <zone or -> <issued at, RFC 3339> [name]
//! ```
//!
//! The holder is labelled in records (e.g. who resolved a referral) by the optional name,
//! else by `token:` and the first 12 hex digits of the hash.
//!
//! A plain append-only file rather than the sled store, so that `bawaba token create` works
//! while a scheduler holds the store's lock: a running scheduler rereads the file when it
//! meets an unknown token and the file has changed since it last read it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::ids::{CompanyId, ZoneId};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

const PREFIX: &str = "bwb_";

/// The tokens of one data folder.
#[derive(Debug)]
pub struct TokenBook {
    path: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    by_hash: HashMap<[u8; 32], Principal>,
    read_at: Option<SystemTime>,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl TokenBook {
    /// The token book of `data_dir` (the file need not exist yet).
    pub fn new(data_dir: &Path) -> Self {
        TokenBook {
            path: data_dir.join("tokens"),
            cache: Mutex::default(),
        }
    }

    /// Issues a token for `principal`: appends its hash durably and returns the token, which
    /// is never stored.
    pub fn issue(
        &self,
        principal: &Principal,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String> {
        if let Some(n) = name
            && (n.is_empty()
                || n.len() > 64
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_@".contains(&b)))
        {
            return Err(bawaba_domain::Error::invalid(
                "name",
                "must be 1 to 64 of A-Z a-z 0-9 . - _ @",
            )
            .into());
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| {
            io("reading the OS random source".into())(std::io::Error::other(e.to_string()))
        })?;
        let token = format!("{PREFIX}{}", hex::encode(secret));
        let line = format!(
            "v1 {} {} {} {} {}{}\n",
            hex::encode(hash(&token)),
            principal.role.as_str(),
            principal.company.as_ref().map_or("-", CompanyId::as_str),
            principal.zone.as_ref().map_or("-", ZoneId::as_str),
            now.to_rfc3339(),
            name.map(|n| format!(" {n}")).unwrap_or_default(),
        );
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io(format!("opening {}", self.path.display())))?;
        f.write_all(line.as_bytes())
            .map_err(io(format!("writing {}", self.path.display())))?;
        f.sync_all()
            .map_err(io(format!("syncing {}", self.path.display())))?;
        Ok(token)
    }

    /// Who holds `token`, or `None` for an unknown token.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        if !token.starts_with(PREFIX) || token.len() > 128 {
            return None;
        }
        let h = hash(token);
        let mut cache = self.cache.lock().ok()?;
        if let Some(p) = cache.by_hash.get(&h) {
            return Some(p.clone());
        }
        // Unknown: reread the file only if it changed since the last read.
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok()?;
        if cache.read_at == Some(modified) {
            return None;
        }
        match self.read_all() {
            Ok(by_hash) => {
                *cache = Cache {
                    by_hash,
                    read_at: Some(modified),
                };
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the token file");
                return None;
            }
        }
        cache.by_hash.get(&h).cloned()
    }

    fn read_all(&self) -> Result<HashMap<[u8; 32], Principal>> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(io(format!("reading {}", self.path.display())))?;
        let mut out = HashMap::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match parse_line(line) {
                Ok((h, p)) => {
                    out.insert(h, p);
                }
                // One bad line (e.g. a torn write after a crash) must not lock everyone out.
                Err(reason) => {
                    tracing::warn!(line = n + 1, %reason, file = %self.path.display(), "skipping bad token line")
                }
            }
        }
        Ok(out)
    }
}

fn parse_line(line: &str) -> std::result::Result<([u8; 32], Principal), String> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let (version, h, role, company, zone, name) = match f.as_slice() {
        [v, h, r, c, z, _issued] => (v, h, r, c, z, None),
        [v, h, r, c, z, _issued, name] => (v, h, r, c, z, Some(*name)),
        _ => return Err(format!("expected 6 or 7 fields, found {}", f.len())),
    };
    if *version != "v1" {
        return Err(format!("unknown version {version}"));
    }
    let mut hash = [0u8; 32];
    hex::decode_to_slice(h, &mut hash).map_err(|e| format!("bad hash: {e}"))?;
    let opt = |s: &str| (s != "-").then(|| s.to_owned());
    let role: Role = role
        .parse()
        .map_err(|e: bawaba_domain::Error| e.to_string())?;
    let company = opt(company)
        .map(|c| CompanyId::parse(&c))
        .transpose()
        .map_err(|e| e.to_string())?;
    let zone = opt(zone)
        .map(|z| ZoneId::parse(&z))
        .transpose()
        .map_err(|e| e.to_string())?;
    let label = name.map_or_else(|| format!("token:{}", &h[..12.min(h.len())]), str::to_owned);
    let principal = Principal::new(role, company, zone)
        .map_err(|e| e.to_string())?
        .labelled(label);
    Ok((hash, principal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_authenticate_and_only_hashes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path());
        let p =
            Principal::new(Role::Company, Some(CompanyId::parse("acme").unwrap()), None).unwrap();
        let token = book.issue(&p, None, Utc::now()).unwrap();
        assert!(token.starts_with("bwb_"));
        let got = book.authenticate(&token).unwrap();
        assert_eq!((got.role, got.company), (p.role, p.company));
        assert!(got.label.starts_with("token:"), "{}", got.label);
        assert_eq!(book.authenticate("bwb_0000"), None);
        assert_eq!(book.authenticate("not a token"), None);
        let file = std::fs::read_to_string(dir.path().join("tokens")).unwrap();
        assert!(
            !file.contains(&token[PREFIX.len()..]),
            "the token itself must not be stored"
        );
    }

    #[test]
    fn a_running_book_sees_tokens_issued_by_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let running = TokenBook::new(dir.path());
        assert_eq!(running.authenticate("bwb_unknown"), None);
        // Another process (another TokenBook) issues a token later.
        let p = Principal::new(Role::Authority, None, None).unwrap();
        let token = TokenBook::new(dir.path())
            .issue(&p, None, Utc::now())
            .unwrap();
        assert_eq!(running.authenticate(&token).map(|g| g.role), Some(p.role));
    }

    #[test]
    fn named_tokens_label_their_holder() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path());
        let p = Principal::new(Role::Operator, None, Some(ZoneId::parse("act").unwrap())).unwrap();
        let token = book.issue(&p, Some("ahmad.shift-a"), Utc::now()).unwrap();
        assert_eq!(book.authenticate(&token).unwrap().label, "ahmad.shift-a");
        assert!(book.issue(&p, Some("two words"), Utc::now()).is_err());
    }

    #[test]
    fn a_torn_line_does_not_lock_everyone_out() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path());
        let p = Principal::new(Role::Operator, None, None).unwrap();
        let token = book.issue(&p, None, Utc::now()).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("tokens"))
            .unwrap();
        f.write_all(b"v1 abc company\n").unwrap();
        assert_eq!(
            TokenBook::new(dir.path())
                .authenticate(&token)
                .map(|g| g.role),
            Some(p.role)
        );
    }
}
