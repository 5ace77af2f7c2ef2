//! `bawaba fleet add|list|remove|texts`: a company's trucks and their drivers from the command
//! line, and the SMS notices texted to the drivers.

use anyhow::Result;
use bawaba_grpc::pb;
use clap::Subcommand;

use crate::client::{Conn, local, out};
use crate::output::{self, Format, NothingFound};
use crate::webhook::{Company, describe_delivery};

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Add a truck to the fleet, or change the one with its plate (its tag, its driver).
    #[command(
        after_help = "Example:\n  bawaba fleet add --plate 60-12345 --driver \"Ali Hassan\" --phone 0791234567"
    )]
    Add {
        /// The truck's plate (60-12345, ٦٠-١٢٣٤٥, 6012345 are the same truck).
        #[arg(long)]
        plate: String,
        /// The truck's RFID tag (EPC, hex).
        #[arg(long)]
        epc: Option<String>,
        /// Who drives it.
        #[arg(long, default_value = "")]
        driver: String,
        /// The driver's mobile number: +962791234567, or 0791234567 as dialled in Jordan.
        /// Booking notices go there by SMS.
        #[arg(long)]
        phone: Option<String>,
        #[command(flatten)]
        company: Company,
    },
    /// The fleet's trucks, by plate (exit status 3 when it has none).
    List {
        #[command(flatten)]
        company: Company,
    },
    /// Take a truck out of the fleet.
    Remove {
        /// The truck's plate.
        #[arg(long)]
        plate: String,
        #[command(flatten)]
        company: Company,
    },
    /// The SMS notices texted to the drivers, every attempt, newest first (exit status 3
    /// when there is none).
    Texts {
        /// How many (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        company: Company,
    },
}

pub async fn fleet(conn: &Conn, cmd: FleetCommand, format: Format) -> Result<()> {
    let mut c = conn.company().await?;
    match cmd {
        FleetCommand::Add {
            plate,
            epc,
            driver,
            phone,
            company,
        } => {
            let truck = pb::FleetTruck {
                truck_plate: plate,
                rfid_epc: epc.unwrap_or_default(),
                driver_name: driver,
                driver_phone: phone.unwrap_or_default(),
                ..Default::default()
            };
            let req = pb::SaveTruckRequest {
                company_id: company.id(),
                truck: Some(truck),
            };
            let saved = c.save_truck(req).await?.into_inner();
            output::one(format, &saved, &output::truck_shape(print_truck));
        }
        FleetCommand::List { company } => {
            let req = pb::ListTrucksRequest {
                company_id: company.id(),
            };
            let trucks = c.list_trucks(req).await?.into_inner().trucks;
            output::listing(format, &trucks, &output::truck_shape(print_truck));
            if trucks.is_empty() {
                return Err(NothingFound(
                    "the fleet has no trucks yet (`bawaba fleet add`)".into(),
                )
                .into());
            }
        }
        FleetCommand::Remove { plate, company } => {
            let req = pb::RemoveTruckRequest {
                company_id: company.id(),
                truck_plate: plate.clone(),
            };
            c.remove_truck(req).await?;
            out(format_args!("removed {plate} from the fleet"));
        }
        FleetCommand::Texts { limit, company } => {
            let req = pb::ListTextsRequest {
                company_id: company.id(),
                page_size: limit,
                ..Default::default()
            };
            let texts = c.list_texts(req).await?.into_inner().texts;
            output::listing(format, &texts, &output::text_shape(print_text));
            if texts.is_empty() {
                return Err(NothingFound("no SMS texted yet".into()).into());
            }
        }
    }
    Ok(())
}

fn print_text(t: &pb::Text) {
    let d = t.delivery.as_ref().map(describe_delivery);
    out(format_args!("to={} {}", t.to, d.unwrap_or_default()));
}

fn print_truck(t: &pb::FleetTruck) {
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    out(format_args!(
        "truck {} company={} epc={} driver={:?} phone={} updated={}",
        t.truck_plate,
        t.company_id,
        or_dash(&t.rfid_epc),
        t.driver_name,
        or_dash(&t.driver_phone),
        local(t.updated_at.as_ref())
    ));
}
