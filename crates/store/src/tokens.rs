//! API tokens. A token is shown once, when issued; only its SHA-256 hash is kept, in
//! `DATA_DIR/tokens`, one line per event:
//!
//! ```text
//! v1 <sha256 hex> <role> <company or -> <zone or -> <issued at, RFC 3339> [name] [by=<user>]
//! r1 <sha256 hex> <revoked at, RFC 3339> [by=<user>]
//! ```
//!
//! `by` names the operating-system user who ran the command (`$USER`): the file is written
//! only by the CLI on the scheduler's machine. Issues and revocations are part of the audit
//! trail ([`TokenBook::audit`]).
//!
//! A token's id is the first 12 hex digits of its hash: `bawaba token list` shows it and
//! `bawaba token revoke` takes it. The holder is labelled in records (e.g. who resolved a
//! referral) by the optional name, else by `token:` and the id.
//!
//! A plain append-only file rather than the sled store, so that `bawaba token create` and
//! `revoke` work while a scheduler holds the store's lock (and so replicas on PostgreSQL can
//! share it, e.g. as a mounted secret). A running scheduler rereads the file when it changed:
//! at once for a token it does not know, and at most [`TokenBook::RECHECK`] after a revocation for one
//! it knows.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::audit::{self, AuditKind, AuditRecord, Door, FieldChange, Fields, Who};
use bawaba_domain::ids::{CompanyId, ZoneId};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

const PREFIX: &str = "bwb_";
/// Hex digits of the hash that make a token's id.
const ID_LEN: usize = 12;

/// The tokens of one data folder.
#[derive(Debug)]
pub struct TokenBook {
    path: PathBuf,
    recheck: Duration,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// The tokens in force (revoked ones left out).
    by_hash: HashMap<[u8; 32], Principal>,
    /// The file's modification time and length when it was last read (it only grows).
    read: Option<(SystemTime, u64)>,
    /// When that was last compared with the file.
    checked_at: Option<Instant>,
}

/// An issued token as `bawaba token list` shows it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The first 12 hex digits of the token's hash.
    pub id: String,
    /// Its role and scope, labelled by its name or `token:` and the id.
    pub principal: Principal,
    pub name: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who issued and who revoked it (lines written before this was kept have none).
    pub issued_by: Option<String>,
    pub revoked_by: Option<String>,
    hash: [u8; 32],
}

impl TokenInfo {
    /// Its issue, and its revocation if it was revoked, as audit records.
    fn audit(&self) -> Vec<AuditRecord> {
        let p = &self.principal;
        let fields: Fields = vec![
            ("role".into(), p.role.as_str().into()),
            (
                "company".into(),
                p.company
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            (
                "zone".into(),
                p.zone.as_ref().map(ToString::to_string).unwrap_or_default(),
            ),
            ("name".into(), self.name.clone().unwrap_or_default()),
        ];
        let record = |at, by: &Option<String>, kind, changes| AuditRecord {
            at,
            who: Who {
                name: by.clone().unwrap_or_else(|| "unknown".into()),
                door: Door::Cli,
                ..Who::default()
            },
            kind,
            zone: p.zone.clone(),
            objects: vec![format!("token:{}", self.id)],
            changes,
        };
        let mut out = vec![record(
            self.issued_at,
            &self.issued_by,
            AuditKind::TokenIssued,
            audit::diff(&Vec::new(), &fields),
        )];
        if let Some(at) = self.revoked_at {
            out.push(record(
                at,
                &self.revoked_by,
                AuditKind::TokenRevoked,
                vec![FieldChange {
                    field: "state".into(),
                    before: "in force".into(),
                    after: "revoked".into(),
                }],
            ));
        }
        out
    }
}

/// The operating-system user running this process, as token lines record it.
fn os_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    let clean: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-_@".contains(*c))
        .take(64)
        .collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}

/// One line of the file.
enum Record {
    Issued(TokenInfo),
    Revoked {
        hash: [u8; 32],
        at: DateTime<Utc>,
        by: Option<String>,
    },
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl TokenBook {
    /// How often a token already known is checked against the file: a revoked token is
    /// refused at most this long after `bawaba token revoke`.
    pub const RECHECK: Duration = Duration::from_secs(1);

    /// The token book of `data_dir` (the file need not exist yet).
    pub fn new(data_dir: &Path) -> Self {
        TokenBook {
            path: data_dir.join("tokens"),
            recheck: Self::RECHECK,
            cache: Mutex::default(),
        }
    }

    /// Checks tokens already known against the file every `recheck` instead of [`Self::RECHECK`].
    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck = recheck;
        self
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
        self.append(&format!(
            "v1 {} {} {} {} {}{} by={}\n",
            hex::encode(hash(&token)),
            principal.role.as_str(),
            principal.company.as_ref().map_or("-", CompanyId::as_str),
            principal.zone.as_ref().map_or("-", ZoneId::as_str),
            now.to_rfc3339(),
            name.map(|n| format!(" {n}")).unwrap_or_default(),
            os_user(),
        ))?;
        Ok(token)
    }

    /// Every token issued, oldest first, revoked ones included.
    pub fn list(&self) -> Result<Vec<TokenInfo>> {
        match self.read_all() {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(Vec::new())
            }
            other => other,
        }
    }

    /// Revokes the one token that `id` names: its id (or more of its hash, at least 12 hex
    /// digits), or the token itself. Durable when this returns; a running scheduler refuses
    /// the token within [`Self::RECHECK`]. Answers the token as it now is.
    pub fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<TokenInfo> {
        let wanted = if id.starts_with(PREFIX) {
            hex::encode(hash(id))
        } else if (ID_LEN..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            id.to_ascii_lowercase()
        } else {
            return Err(bawaba_domain::Error::invalid(
                "id",
                "must be a token's id (12 to 64 hex digits of its hash, as `token list` shows) or the token itself",
            )
            .into());
        };
        let mut found: Vec<TokenInfo> = self
            .list()?
            .into_iter()
            .filter(|t| hex::encode(t.hash).starts_with(&wanted))
            .collect();
        let mut token = match found.len() {
            1 => found.remove(0),
            0 => {
                return Err(bawaba_domain::Error::NotFound {
                    what: "token",
                    id: id.chars().take(PREFIX.len() + ID_LEN).collect(),
                }
                .into());
            }
            n => {
                return Err(bawaba_domain::Error::invalid(
                    "id",
                    format!("{id} matches {n} tokens: give more of its hash"),
                )
                .into());
            }
        };
        if let Some(at) = token.revoked_at {
            return Err(bawaba_domain::Error::Precondition(format!(
                "token {} was already revoked at {}",
                token.id,
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))
            .into());
        }
        let by = os_user();
        self.append(&format!(
            "r1 {} {} by={by}\n",
            hex::encode(token.hash),
            now.to_rfc3339()
        ))?;
        token.revoked_at = Some(now);
        token.revoked_by = Some(by);
        Ok(token)
    }

    /// Every issue and revocation, as audit records (oldest first).
    pub fn audit(&self) -> Result<Vec<AuditRecord>> {
        Ok(self.list()?.iter().flat_map(TokenInfo::audit).collect())
    }

    /// Who holds `token`, or `None` for an unknown or revoked token.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        if !token.starts_with(PREFIX) || token.len() > 128 {
            return None;
        }
        let h = hash(token);
        let mut cache = self.cache.lock().ok()?;
        // An unknown token may have been issued since the last read; a known one may have
        // been revoked, which is looked for at most every `recheck`.
        let due = cache.checked_at.is_none_or(|t| t.elapsed() >= self.recheck);
        if due || !cache.by_hash.contains_key(&h) {
            self.refresh(&mut cache);
        }
        cache.by_hash.get(&h).cloned()
    }

    /// Rereads the file if it changed since it was last read. A file that cannot be read
    /// keeps the tokens as they were (logged); a file that is gone holds none.
    fn refresh(&self, cache: &mut Cache) {
        cache.checked_at = Some(Instant::now());
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => m.modified().ok().map(|t| (t, m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                cache.by_hash.clear();
                cache.read = None;
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, file = %self.path.display(), "cannot read the token file");
                return;
            }
        };
        if now.is_some() && cache.read == now {
            return;
        }
        match self.read_all() {
            Ok(tokens) => {
                cache.by_hash = tokens
                    .into_iter()
                    .filter(|t| t.revoked_at.is_none())
                    .map(|t| (t.hash, t.principal))
                    .collect();
                cache.read = now;
            }
            Err(e) => tracing::error!(error = %e, "cannot read the token file"),
        }
    }

    /// Appends `line` and makes it durable.
    fn append(&self, line: &str) -> Result<()> {
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
            .map_err(io(format!("syncing {}", self.path.display())))
    }

    /// The tokens the file issues, each with its revocation if the file has one (wherever
    /// it stands in the file).
    fn read_all(&self) -> Result<Vec<TokenInfo>> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(io(format!("reading {}", self.path.display())))?;
        let mut tokens = Vec::new();
        let mut revoked = HashMap::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match parse_line(line) {
                Ok(Record::Issued(t)) => tokens.push(t),
                Ok(Record::Revoked { hash, at, by }) => {
                    revoked.entry(hash).or_insert((at, by));
                }
                // One bad line (e.g. a torn write after a crash) must not lock everyone out.
                Err(reason) => {
                    tracing::warn!(line = n + 1, %reason, file = %self.path.display(), "skipping bad token line")
                }
            }
        }
        for t in &mut tokens {
            if let Some((at, by)) = revoked.get(&t.hash) {
                t.revoked_at = Some(*at);
                t.revoked_by.clone_from(by);
            }
        }
        Ok(tokens)
    }
}

fn parse_hash(h: &str) -> std::result::Result<[u8; 32], String> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(h, &mut hash).map_err(|e| format!("bad hash: {e}"))?;
    Ok(hash)
}

fn parse_time(t: &str) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad time {t:?}: {e}"))
}

fn parse_line(line: &str) -> std::result::Result<Record, String> {
    let mut f: Vec<&str> = line.split_whitespace().collect();
    // The optional last field `by=<user>` (names never hold `=`).
    let by = match f.last().and_then(|l| l.strip_prefix("by=")) {
        Some(by) => {
            let by = by.to_owned();
            f.pop();
            Some(by)
        }
        None => None,
    };
    let (h, role, company, zone, issued, name) = match f.as_slice() {
        ["r1", h, at] => {
            return Ok(Record::Revoked {
                hash: parse_hash(h)?,
                at: parse_time(at)?,
                by,
            });
        }
        ["v1", h, r, c, z, issued] => (h, r, c, z, issued, None),
        ["v1", h, r, c, z, issued, name] => (h, r, c, z, issued, Some(*name)),
        [v, ..] if *v != "v1" && *v != "r1" => return Err(format!("unknown version {v}")),
        _ => return Err(format!("a line of {} fields", f.len())),
    };
    let hash = parse_hash(h)?;
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
    let id = h[..ID_LEN].to_ascii_lowercase();
    let label = name.map_or_else(|| format!("token:{id}"), str::to_owned);
    let principal = Principal::new(role, company, zone)
        .map_err(|e| e.to_string())?
        .labelled(label)
        .with_token(id.clone());
    Ok(Record::Issued(TokenInfo {
        id,
        principal,
        name: name.map(str::to_owned),
        issued_at: parse_time(issued)?,
        revoked_at: None,
        issued_by: by,
        revoked_by: None,
        hash,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn company() -> Principal {
        Principal::new(Role::Company, Some(CompanyId::parse("acme").unwrap()), None).unwrap()
    }

    #[test]
    fn issued_tokens_authenticate_and_only_hashes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path());
        let p = company();
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
    fn issues_and_revocations_are_audited_with_who_ran_them() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path());
        let at: DateTime<Utc> = "2026-12-08T07:00:00Z".parse().unwrap();
        let token = book.issue(&company(), Some("fleet-bot"), at).unwrap();
        let id = book.authenticate(&token).unwrap().token.unwrap();
        let later = at + chrono::TimeDelta::hours(1);
        book.revoke(&id, later).unwrap();
        // A line written before `by` was kept still reads, with nobody named.
        let p = Principal::new(Role::Authority, None, None).unwrap();
        let old = TokenBook::new(dir.path()).issue(&p, None, at).unwrap();
        let text = std::fs::read_to_string(dir.path().join("tokens")).unwrap();
        let stripped: String = text
            .lines()
            .map(|l| match l.rsplit_once(" by=") {
                Some((head, _)) if l.contains(&hex::encode(hash(&old))) => format!("{head}\n"),
                _ => format!("{l}\n"),
            })
            .collect();
        std::fs::write(dir.path().join("tokens"), stripped).unwrap();

        let records = book.audit().unwrap();
        let kinds: Vec<_> = records.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                AuditKind::TokenIssued,
                AuditKind::TokenRevoked,
                AuditKind::TokenIssued
            ]
        );
        let (issued, revoked) = (&records[0], &records[1]);
        assert_eq!((issued.at, revoked.at), (at, later));
        assert_eq!(issued.who.name, os_user());
        assert_eq!(issued.who.door, Door::Cli);
        assert_eq!(issued.objects, [format!("token:{id}")]);
        let fields: Vec<_> = issued
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("role", "company"),
                ("company", "acme"),
                ("name", "fleet-bot")
            ]
        );
        assert_eq!(revoked.changes[0].after, "revoked");
        assert_eq!(records[2].who.name, "unknown");
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

    #[test]
    fn a_revoked_token_is_refused_by_a_running_book() {
        let dir = tempfile::tempdir().unwrap();
        // The scheduler's book, checking known tokens on every call.
        let running = TokenBook::new(dir.path()).with_recheck(Duration::ZERO);
        let admin = TokenBook::new(dir.path());
        let now = Utc::now();
        let kept = admin.issue(&company(), Some("kept"), now).unwrap();
        let leaked = admin.issue(&company(), Some("leaked"), now).unwrap();
        assert!(running.authenticate(&leaked).is_some());
        let listed = admin.list().unwrap();
        let id = listed[1].id.clone();
        assert_eq!(listed[1].name.as_deref(), Some("leaked"));
        assert_eq!(id.len(), ID_LEN);

        let later = now + chrono::TimeDelta::minutes(5);
        let revoked = admin.revoke(&id, later).unwrap();
        assert_eq!(
            (revoked.id.as_str(), revoked.revoked_at),
            (id.as_str(), Some(later))
        );
        assert_eq!(running.authenticate(&leaked), None);
        assert!(running.authenticate(&kept).is_some());
        // A new book (a restart) reads the revocation too; the list keeps the token, marked.
        assert_eq!(TokenBook::new(dir.path()).authenticate(&leaked), None);
        let listed = admin.list().unwrap();
        assert_eq!(
            listed.iter().map(|t| t.revoked_at).collect::<Vec<_>>(),
            vec![None, Some(later)]
        );
        // Only once.
        let again = admin.revoke(&id, later).unwrap_err();
        assert!(again.to_string().contains("already revoked"), "{again}");
    }

    #[test]
    fn revoke_takes_the_token_itself_and_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path()).with_recheck(Duration::ZERO);
        let now = Utc::now();
        assert!(book.revoke("0123456789ab", now).is_err(), "no file yet");
        let token = book.issue(&company(), None, now).unwrap();
        for bad in ["", "0123", "not-hex-at-all"] {
            let e = book.revoke(bad, now).unwrap_err();
            assert!(e.to_string().contains("id"), "{bad:?}: {e}");
        }
        let e = book.revoke("bwb_0000", now).unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
        assert!(book.revoke(&token, now).unwrap().revoked_at.is_some());
        assert_eq!(book.authenticate(&token), None);
    }

    #[test]
    fn an_id_that_names_several_tokens_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let line = |rest: char| {
            format!(
                "v1 aaaaaaaaaaaa{} company acme - 2026-12-06T00:00:00+00:00\n",
                rest.to_string().repeat(52)
            )
        };
        std::fs::write(dir.path().join("tokens"), line('1') + &line('2')).unwrap();
        let book = TokenBook::new(dir.path());
        let e = book.revoke("aaaaaaaaaaaa", Utc::now()).unwrap_err();
        assert!(e.to_string().contains("matches 2 tokens"), "{e}");
        let one = book.revoke("AAAAAAAAAAAA2", Utc::now()).unwrap();
        assert_eq!(one.id, "aaaaaaaaaaaa");
        let listed = book.list().unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|t| t.revoked_at.is_some())
                .collect::<Vec<_>>(),
            vec![false, true]
        );
    }

    #[test]
    fn a_missing_file_holds_no_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let book = TokenBook::new(dir.path()).with_recheck(Duration::ZERO);
        assert!(book.list().unwrap().is_empty());
        let token = book.issue(&company(), None, Utc::now()).unwrap();
        assert!(book.authenticate(&token).is_some());
        std::fs::remove_file(dir.path().join("tokens")).unwrap();
        assert_eq!(book.authenticate(&token), None);
    }

    proptest! {
        /// Any line, however torn or hostile, parses or is refused: never a panic.
        #[test]
        fn any_line_parses_or_is_refused(line in "\\PC{0,200}") {
            let _ = parse_line(&line);
        }

        /// Lines shaped like real ones, with arbitrary fields.
        #[test]
        fn any_shaped_line_parses_or_is_refused(
            kind in prop::sample::select(vec!["v1", "r1"]),
            fields in prop::collection::vec("[0-9a-zA-Z:+.\\-_]{0,70}", 0..8),
        ) {
            let _ = parse_line(&format!("{kind} {}", fields.join(" ")));
        }
    }
}
