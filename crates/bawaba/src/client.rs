//! The client commands: zones, bookings, slots, over gRPC.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bawaba_domain::calendar::{LOCAL_TZ, TransactionType};
use bawaba_grpc::client::{BearerToken, ClientIdentity, ClientTls, Clients, channel_tls};
use bawaba_grpc::{from_timestamp, pb, timestamp};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};

use crate::output::{self, Format, NothingFound, state_name};

/// Where and as whom to connect.
#[derive(Debug, Clone, Args)]
pub struct Conn {
    /// Scheduler address (http:// or https://).
    #[arg(
        long,
        global = true,
        env = "BAWABA_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    addr: String,
    /// API token.
    #[arg(long, global = true, env = "BAWABA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CA certificate (PEM) for https.
    #[arg(long, global = true)]
    ca_cert: Option<PathBuf>,
    /// Client certificate (PEM), for a scheduler that requires one (--tls-client-ca).
    #[arg(
        long,
        global = true,
        env = "BAWABA_CLIENT_CERT",
        requires = "client_key"
    )]
    client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        global = true,
        env = "BAWABA_CLIENT_KEY",
        requires = "client_cert"
    )]
    client_key: Option<PathBuf>,
}

impl Conn {
    async fn clients(&self) -> Result<Clients> {
        let tls = ClientTls {
            ca: self.ca_cert.clone(),
            identity: self
                .client_cert
                .clone()
                .zip(self.client_key.clone())
                .map(|(cert, key)| ClientIdentity { cert, key }),
        };
        // Every call says it comes from the CLI, for the audit trail.
        let auth = BearerToken::new(self.token.as_deref())?.from_cli();
        Ok(Clients::with_auth(
            channel_tls(&self.addr, &tls).await?,
            auth,
        ))
    }
}

impl Conn {
    /// The admin client of the scheduler.
    pub(crate) async fn admin(
        &self,
    ) -> Result<pb::admin_service_client::AdminServiceClient<bawaba_grpc::client::Authed>> {
        Ok(self.clients().await?.admin)
    }

    /// The watchlist client of the scheduler.
    pub(crate) async fn security(
        &self,
    ) -> Result<pb::security_service_client::SecurityServiceClient<bawaba_grpc::client::Authed>>
    {
        Ok(self.clients().await?.security)
    }

    /// The company-settings client of the scheduler.
    pub(crate) async fn company(
        &self,
    ) -> Result<pb::company_service_client::CompanyServiceClient<bawaba_grpc::client::Authed>> {
        Ok(self.clients().await?.company)
    }
}

/// Writes one line of command output to stdout.
pub fn out(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// Writes one line for the person at the terminal (not the output a script reads) to stderr.
pub fn say(line: std::fmt::Arguments<'_>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Says what went wrong on stderr: `error: <gRPC code>: <message>` for refusals.
pub fn report_error(e: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = match e.downcast_ref::<tonic::Status>() {
        Some(s) => writeln!(stderr, "error: {}: {}", code_name(s.code()), s.message()),
        None => writeln!(stderr, "error: {e:#}"),
    };
}

/// The canonical name of a gRPC status code (`INVALID_ARGUMENT`), as grpcurl prints it.
fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A time as typed on the command line (Amman time unless it has an offset).
pub(crate) fn time(s: &str) -> Result<DateTime<Utc>> {
    Ok(bawaba_domain::calendar::parse_time(s, "time")?)
}

pub(crate) fn local(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(from_timestamp)
        .map(|t| {
            t.with_timezone(&LOCAL_TZ)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        })
        .unwrap_or_else(|| "-".into())
}

pub(crate) fn type_arg(s: &str) -> Result<pb::TransactionType> {
    let t: TransactionType = s.parse()?;
    pb::TransactionType::from_str_name(&format!("TRANSACTION_TYPE_{}", t.as_str()))
        .context("transaction type missing from the protocol")
}

pub(crate) fn type_name(v: i32) -> &'static str {
    pb::TransactionType::try_from(v)
        .map_or("?", |t| t.as_str_name())
        .trim_start_matches("TRANSACTION_TYPE_")
}

pub(crate) fn print_booking(b: &pb::Booking) {
    out(format_args!(
        "booking {} {} company={} plate={}{} revision={}",
        b.booking_id,
        state_name(b.state),
        b.company_id,
        b.truck_plate,
        if b.rfid_epc.is_empty() {
            String::new()
        } else {
            format!(" epc={}", b.rfid_epc)
        },
        b.revision
    ));
    for (i, s) in b.stops.iter().enumerate() {
        let closed: Vec<String> = s
            .closures
            .iter()
            .map(|c| format!(" closed={}:{:?}", c.id, c.reason))
            .collect();
        out(format_args!(
            "  stop {i}: zone={} window={}..{} type={} containers={} entry={}..{}{}",
            s.zone_id,
            local(s.window_start.as_ref()),
            local(s.window_end.as_ref()),
            type_name(s.transaction_type),
            if s.container_numbers.is_empty() {
                "-".into()
            } else {
                s.container_numbers.join(",")
            },
            local(s.entry_from.as_ref()),
            local(s.entry_until.as_ref()),
            closed.concat(),
        ));
    }
}

fn print_window(w: &pb::Window) {
    let split: Vec<String> = w
        .per_type
        .iter()
        .map(|t| {
            format!(
                "{}={}/{}",
                type_name(t.transaction_type),
                t.booked,
                t.capacity
            )
        })
        .collect();
    out(format_args!(
        "{} {} booked={}/{} free={}{}{}",
        w.zone_id,
        w.local_start,
        w.booked,
        w.capacity,
        w.free,
        if split.is_empty() {
            String::new()
        } else {
            format!(" [{}]", split.join(" "))
        },
        if w.closure_reason.is_empty() {
            String::new()
        } else {
            format!(" CLOSED: {}", w.closure_reason)
        },
    ));
}

/// The help's lines on times and transaction types.
macro_rules! times_and_types {
    () => {
        "Times: 2026-12-08T10:00 is Amman time (add +03:00 or Z for an explicit offset).\nTransaction types: IMPORT_PICKUP, EXPORT_DROPOFF (these two name their ISO 6346 containers), EMPTY_RETURN, EMPTY_PICKUP, GENERAL_CARGO."
    };
}

#[derive(Debug, Subcommand)]
pub enum BookingCommand {
    /// Book a visit: one stop, or several (--stop again) taken all together or not at all.
    #[command(after_help = concat!(
        times_and_types!(),
        "\n\nExample:\n  bawaba booking create --plate 60-12345 --stop act,2026-12-08T10:00,IMPORT_PICKUP,CSQU3054383\n\n",
        "A full window is refused with the nearest free windows; a window in a closure with the closure and the nearest open ones."
    ))]
    Create {
        /// The truck's plate (60-12345, ٦٠-١٢٣٤٥, 6012345 are the same truck).
        #[arg(long)]
        plate: String,
        /// The truck's RFID tag (EPC, hex), when it has one.
        #[arg(long)]
        epc: Option<String>,
        /// Idempotency key: the same key again answers the booking it made, never a second
        /// one (default: a random one).
        #[arg(long)]
        key: Option<String>,
        /// For an authority token: the company booked for.
        #[arg(long)]
        company: Option<String>,
        /// ZONE,WINDOW_START,TYPE[,CONTAINER...], e.g. act,2026-12-08T10:00,GENERAL_CARGO;
        /// repeat for a multi-stop visit (in time order).
        #[arg(
            long = "stop",
            required = true,
            value_name = "ZONE,START,TYPE[,CONTAINER...]"
        )]
        stops: Vec<String>,
    },
    /// Show one booking.
    Get {
        /// The booking id (26 characters, as `booking create` printed it).
        id: String,
    },
    /// List bookings (a company token: its own), oldest first.
    List {
        /// Only bookings with a stop in this zone.
        #[arg(long)]
        zone: Option<String>,
        /// Only bookings in this state: BOOKED, ENTERED, EXITED, CANCELLED, NO_SHOW.
        #[arg(long)]
        state: Option<String>,
        /// Bookings per page (1 to 500).
        #[arg(long, default_value_t = 50)]
        page_size: u32,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// Move a stop to another window of its zone (the new place is taken and the old
    /// released together, or nothing changes).
    #[command(after_help = "Example:\n  bawaba booking move 01KB... --window 2026-12-08T14:00")]
    Move {
        /// The booking id.
        id: String,
        /// The new window's start (2026-12-08T14:00 is Amman time).
        #[arg(long)]
        window: String,
        /// Which stop (0: the first).
        #[arg(long, default_value_t = 0)]
        stop_index: u32,
    },
    /// Cancel a booking (before the zone's change cut-off): its places are released.
    Cancel {
        /// The booking id.
        id: String,
        /// Why (kept with the booking and told to its company).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Follow the company's events (every change to its bookings) as they happen, from the
    /// first or after --after; Ctrl-C to stop. Reconnect with --after set to the last number
    /// printed: nothing is missed and nothing repeated.
    Events {
        /// For an authority token: the company followed.
        #[arg(long)]
        company: Option<String>,
        /// The last event number already seen (0: from the first).
        #[arg(long, default_value_t = 0)]
        after: u64,
    },
}

fn kind_name(v: i32) -> String {
    pb::EventKind::try_from(v)
        .map_or("?", |k| k.as_str_name())
        .trim_start_matches("EVENT_KIND_")
        .to_ascii_lowercase()
}

/// Prints each event of the company's log as it comes, until the stream ends.
async fn follow_events(conn: &Conn, company: Option<String>, after: u64) -> Result<()> {
    let req = pb::WatchEventsRequest {
        company_id: company.unwrap_or_default(),
        after_seq: after,
    };
    let mut c = conn.clients().await?;
    let mut events = c.bookings.watch_events(req).await?.into_inner();
    while let Some(e) = events.message().await? {
        out(format_args!(
            "event {} {} at={}{}",
            e.event_id,
            kind_name(e.kind),
            local(e.at.as_ref()),
            if e.zone_id.is_empty() {
                String::new()
            } else {
                format!(" zone={}", e.zone_id)
            }
        ));
        if let Some(b) = &e.booking {
            print_booking(b);
        }
    }
    Ok(())
}

fn stop(spec: &str) -> Result<pb::StopRequest> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let [zone, window, t, containers @ ..] = parts.as_slice() else {
        bail!("--stop {spec:?}: expected ZONE,WINDOW_START,TYPE[,CONTAINER...]");
    };
    Ok(pb::StopRequest {
        zone_id: (*zone).to_owned(),
        window_start: Some(timestamp(time(window)?)),
        transaction_type: type_arg(t)? as i32,
        container_numbers: containers.iter().map(|c| (*c).to_owned()).collect(),
    })
}

fn random_key() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    format!("cli-{}", hex::encode(b))
}

pub async fn booking(conn: &Conn, cmd: BookingCommand, format: Format) -> Result<()> {
    match cmd {
        BookingCommand::Create {
            plate,
            epc,
            key,
            company,
            stops,
        } => {
            let req = pb::CreateBookingRequest {
                idempotency_key: key.unwrap_or_else(random_key),
                truck_plate: plate,
                rfid_epc: epc.unwrap_or_default(),
                stops: stops.iter().map(|s| stop(s)).collect::<Result<_>>()?,
                company_id: company.unwrap_or_default(),
            };
            let r = conn
                .clients()
                .await?
                .bookings
                .create_booking(req)
                .await?
                .into_inner();
            if let Some(b) = &r.booking {
                output::one(format, b, &output::booking_shape(print_booking));
            }
            if r.replayed {
                say(format_args!(
                    "(already booked with this idempotency key; nothing changed)"
                ));
            }
        }
        BookingCommand::Get { id } => {
            output::one(
                format,
                &conn
                    .clients()
                    .await?
                    .bookings
                    .get_booking(pb::GetBookingRequest { booking_id: id })
                    .await?
                    .into_inner(),
                &output::booking_shape(print_booking),
            );
        }
        BookingCommand::List {
            zone,
            state,
            page_size,
            all,
        } => {
            let state = match state {
                None => pb::BookingState::Unspecified,
                Some(s) => pb::BookingState::from_str_name(&format!(
                    "BOOKING_STATE_{}",
                    s.to_ascii_uppercase()
                ))
                .with_context(|| format!("unknown state {s:?}"))?,
            };
            let mut c = conn.clients().await?;
            let mut page_token = String::new();
            let mut listed = Vec::new();
            loop {
                let r = c
                    .bookings
                    .list_bookings(pb::ListBookingsRequest {
                        page_size,
                        page_token,
                        zone_id: zone.clone().unwrap_or_default(),
                        state: state as i32,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                // Text goes out page by page; a table or a JSON array once, whole.
                match format {
                    Format::Text => r.bookings.iter().for_each(print_booking),
                    _ => listed.extend(r.bookings),
                }
                if !all || r.next_page_token.is_empty() {
                    if !r.next_page_token.is_empty() {
                        say(format_args!("(more: --all to follow every page)"));
                    }
                    break;
                }
                page_token = r.next_page_token;
            }
            output::listing(format, &listed, &output::booking_shape(print_booking));
        }
        BookingCommand::Move {
            id,
            window,
            stop_index,
        } => {
            let req = pb::MoveBookingRequest {
                booking_id: id,
                stop_index,
                new_window_start: Some(timestamp(time(&window)?)),
            };
            output::one(
                format,
                &conn
                    .clients()
                    .await?
                    .bookings
                    .move_booking(req)
                    .await?
                    .into_inner(),
                &output::booking_shape(print_booking),
            );
        }
        BookingCommand::Events { company, after } => follow_events(conn, company, after).await?,
        BookingCommand::Cancel { id, reason } => {
            let req = pb::CancelBookingRequest {
                booking_id: id,
                reason,
            };
            output::one(
                format,
                &conn
                    .clients()
                    .await?
                    .bookings
                    .cancel_booking(req)
                    .await?
                    .into_inner(),
                &output::booking_shape(print_booking),
            );
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// Windows of a zone with their capacity, places booked and free, per type, and the
    /// closures shutting them (default: the next 24 hours).
    #[command(after_help = times_and_types!())]
    List {
        /// The zone (`zones list` shows them).
        #[arg(long)]
        zone: String,
        /// From (default: now).
        #[arg(long)]
        from: Option<String>,
        /// To (default: 24 hours after --from).
        #[arg(long)]
        to: Option<String>,
    },
    /// The nearest windows with room for a transaction type, from --preferred (or now) on.
    /// Exit status 3 when none has room before the end of the zone's booking horizon.
    #[command(after_help = concat!(
        times_and_types!(),
        "\n\nExample:\n  bawaba slots find --zone act --type IMPORT_PICKUP --preferred 2026-12-08T10:00 --output table"
    ))]
    Find {
        /// The zone (`zones list` shows them).
        #[arg(long)]
        zone: String,
        /// The transaction type (see below).
        #[arg(long = "type", value_name = "TYPE")]
        transaction_type: String,
        /// When the truck would like to come (default: now).
        #[arg(long)]
        preferred: Option<String>,
        /// How many windows (1 to 50).
        #[arg(long, default_value_t = 5)]
        count: u32,
    },
}

pub async fn slots(conn: &Conn, cmd: SlotsCommand, format: Format) -> Result<()> {
    let mut c = conn.clients().await?;
    match cmd {
        SlotsCommand::List { zone, from, to } => {
            let from = from
                .as_deref()
                .map(time)
                .transpose()?
                .unwrap_or_else(Utc::now);
            let to = to
                .as_deref()
                .map(time)
                .transpose()?
                .unwrap_or(from + chrono::TimeDelta::hours(24));
            let req = pb::ListWindowsRequest {
                zone_id: zone.clone(),
                from: Some(timestamp(from)),
                to: Some(timestamp(to)),
            };
            let windows = c.slots.list_windows(req).await?.into_inner().windows;
            output::listing(format, &windows, &output::window_shape(print_window));
            if windows.is_empty() {
                return Err(NothingFound(format!(
                    "zone {zone} has no windows between {} and {}",
                    local(Some(&timestamp(from))),
                    local(Some(&timestamp(to)))
                ))
                .into());
            }
        }
        SlotsCommand::Find {
            zone,
            transaction_type,
            preferred,
            count,
        } => {
            let t = type_arg(&transaction_type)?;
            let preferred = preferred.as_deref().map(time).transpose()?;
            let req = pb::FindSlotsRequest {
                zone_id: zone.clone(),
                transaction_type: t as i32,
                preferred: preferred.map(timestamp),
                count,
            };
            let found = c.slots.find_slots(req).await?.into_inner().windows;
            output::listing(format, &found, &output::window_shape(print_window));
            if found.is_empty() {
                let now = Utc::now();
                let horizon = horizon_of(&mut c, &zone).await?;
                let from = preferred.map_or(now, |p| p.max(now));
                return Err(NothingFound(format!(
                    "no free window for {} in zone {zone} between {} and {} (the end of its booking horizon); see `slots list --zone {zone}` for capacity and closures",
                    type_name(t as i32),
                    local(Some(&timestamp(from))),
                    local(Some(&timestamp(now + horizon))),
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// How far ahead `zone` takes bookings.
async fn horizon_of(c: &mut Clients, zone: &str) -> Result<chrono::TimeDelta> {
    let zones = c
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await?
        .into_inner();
    let minutes = zones
        .zones
        .iter()
        .find(|z| z.zone_id == zone)
        .and_then(|z| z.rules.as_ref())
        .map_or(7 * 24 * 60, |r| r.horizon_minutes);
    Ok(chrono::TimeDelta::minutes(i64::from(minutes)))
}
