//! `jpki-card-sim`: a simulated My Number card in a vpcd virtual reader.
//!
//! Connects to vpcd (pcscd's vsmartcard driver) and answers APDUs as the card
//! would, so every PC/SC client — ours, OpenSC, pcsc_scan — sees a card.
#![forbid(unsafe_code)]

use clap::{Parser, ValueEnum};
use jpki_card_sim::card::SimOptions;
use jpki_card_sim::faults::{PullOn, PullWhen, SwOn};
use jpki_card_sim::vpcd::{serve, Ended, Faults};
use jpki_card_sim::{CardState, Person, PinId, SimCard, TestPki, Variant};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum VariantArg {
    /// Physical My Number card (token JPKIAPICCTOKEN2).
    MyNumber,
    /// Old 住基カード with JPKI (token JPKIAPICCTOKEN).
    Juki,
    /// Android smartphone certificate (token JPKIAPGPSETOKEN).
    Smartphone,
    /// A smart card without the JPKI application.
    Foreign,
}

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A simulated My Number card (JPKI) in a vpcd virtual reader",
    long_about = "Connects to vpcd (Debian package vsmartcard-vpcd, loaded by pcscd) and \
answers APDUs as a My Number card would, so PC/SC clients see a real card.\n\n\
Default secrets: auth PIN 1234, sign password ABC123, text-AP PIN 1234.\n\n\
Example:\n  jpki-card-sim --state target/sim/state.json --pki-dir target/sim/pki\n\n\
Fault injection (for tests; commands are named select, read, verify (VERIFY with a PIN), \
query (empty VERIFY), change, sign, or by a hex INS byte such as B0; occurrences are counted \
over the whole run, and every fault that fires is counted in the --stats file as \"faults\"):\n  \
--pull-on verify --pull-when after --reinsert-after-ms 1000\n      \
card pulled right after the card checked the first PIN, back 1 s later\n  \
--pull-on read:3         card pulled at the third READ BINARY\n  \
--sw-on sign:6F00        the first signature answers 6F00 (always: sign:6F00:always)\n  \
--truncate-256           responses of exactly 256 data bytes lose their last byte\n  \
--short-apdus-only       a reader without extended APDUs (they are answered 67 00)\n  \
--delay-ms 400           a slow card"
)]
struct Args {
    /// vpcd address to connect to (35963 = reader "Virtual PCD 00 00", 35964 = "… 00 01").
    #[arg(long, default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// Card variant.
    #[arg(long, value_enum, default_value = "my-number")]
    variant: VariantArg,
    /// JSON file keeping PIN values and counters across restarts (created if missing).
    #[arg(long)]
    state: Option<PathBuf>,
    /// JSON file rewritten after every APDU with counts (APDUs, VERIFYs per PIN, signatures).
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Write the test PKI (auth.pem, sign.pem, auth-ca.pem, sign-ca.pem, ca-bundle.pem) here.
    #[arg(long)]
    pki_dir: Option<PathBuf>,
    /// Only write the PKI (needs --pki-dir) and exit.
    #[arg(long, requires = "pki_dir")]
    pki_only: bool,
    /// Seed of the deterministic test PKI.
    #[arg(long, default_value_t = 0x4a50_4b49_5349_4d31)]
    seed: u64,
    /// Auth PIN of a fresh card (4 digits).
    #[arg(long, default_value = "1234")]
    auth_pin: String,
    /// Sign password of a fresh card (6-16 of A-Z 0-9).
    #[arg(long, default_value = "ABC123")]
    sign_pin: String,
    /// Text-AP PIN of a fresh card (4 digits).
    #[arg(long, default_value = "1234")]
    text_pin: String,
    /// Tries left on the auth PIN of a fresh card (max 3; 0 = blocked).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    auth_tries: Option<u8>,
    /// Tries left on the sign password of a fresh card (max 5; 0 = blocked).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=5))]
    sign_tries: Option<u8>,
    /// Tries left on the text-AP PIN of a fresh card (max 3; 0 = blocked).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    text_tries: Option<u8>,
    /// Answer an empty VERIFY after a successful VERIFY with 63Cx instead of 9000
    /// (spec §6.3: real cards differ).
    #[arg(long)]
    verified_query_counter: bool,
    /// Refuse RSA-PSS signing (COMPUTE DIGITAL SIGNATURE P1=04/05) like a card without it.
    #[arg(long)]
    no_pss: bool,
    /// Sign with the other key than the certificate's (auth key ↔ sign key), as a card
    /// swapped between reading the certificate and signing: every signature fails its check.
    #[arg(long)]
    cross_keys: bool,
    /// Delay every APDU response by this many milliseconds (a slow card).
    #[arg(long)]
    delay_ms: Option<u64>,
    /// Exit when vpcd closes the connection instead of reconnecting.
    #[arg(long)]
    once: bool,
    /// Fault: pull the card (close the vpcd connection) at the N-th command APDU of the run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pull_at_apdu: Option<u64>,
    /// Fault: pull the card at the N-th command of a kind (CMD[:N], N defaults to 1),
    /// e.g. verify, sign:2, read:3, B0. Repeatable.
    #[arg(long, value_name = "CMD[:N]")]
    pull_on: Vec<PullOn>,
    /// Whether a pulled command reached the card first: `after` (default) = the card did it
    /// (a VERIFY counted, a wrong PIN spent a try) and lost power before answering, as a real
    /// card that had received the APDU; `before` = it never arrived, nothing changed.
    #[arg(long, value_name = "WHEN", default_value_t = PullWhen::After)]
    pull_when: PullWhen,
    /// After a pull, insert the card again (reconnect to vpcd) this many milliseconds later,
    /// with its state. Without it the simulator exits after a pull, leaving the reader empty.
    #[arg(long, value_name = "MS")]
    reinsert_after_ms: Option<u64>,
    /// Fault: answer the status word SW (4 hex digits) instead of doing the command,
    /// at its first occurrence, the N-th, or always (CMD:SW[:N|:always]),
    /// e.g. sign:6F00, verify:6581:always, read:6700. Repeatable.
    #[arg(long, value_name = "CMD:SW[:N]")]
    sw_on: Vec<SwOn>,
    /// Fault (reader bug): responses of exactly 256 data bytes lose their last BYTES data
    /// bytes (default 1; 256 = all data), the status word stays. Budget readers mishandle
    /// the 256-byte case of a short Le; a signature is such a response.
    #[arg(long, value_name = "BYTES", num_args = 0..=1, default_missing_value = "1",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    truncate_256: Option<u16>,
    /// Fault (reader limit): the reader carries short APDUs only; a command with extended
    /// length fields is answered 67 00 and never reaches the card.
    #[arg(long)]
    short_apdus_only: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jpki-card-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> Result<(), String> {
    let pki = TestPki::generate(a.seed, Person::default())
        .map_err(|e| format!("cannot build the test PKI: {e}"))?;
    if let Some(dir) = &a.pki_dir {
        pki.write_pem_dir(dir)
            .map_err(|e| format!("cannot write the test PKI to {}: {e}", dir.display()))?;
    }
    if a.pki_only {
        return Ok(());
    }
    let state = match &a.state {
        Some(p) if p.exists() => CardState::load(p)
            .map_err(|e| format!("cannot read state file {}: {e}", p.display()))?,
        _ => {
            let mut s = CardState::new(
                &a.auth_pin,
                &a.sign_pin,
                &a.text_pin,
                &pki.person.my_number,
                "90010120349999",
            );
            for (pin, t) in [
                (PinId::Auth, a.auth_tries),
                (PinId::Sign, a.sign_tries),
                (PinId::Text, a.text_tries),
            ] {
                if let (Some(t), Some(st)) = (t, s.pins.get_mut(&pin)) {
                    st.tries = t;
                }
            }
            if let Some(p) = &a.state {
                s.save(p)
                    .map_err(|e| format!("cannot write state file {}: {e}", p.display()))?;
            }
            s
        }
    };
    let opts = SimOptions {
        variant: match a.variant {
            VariantArg::MyNumber => Variant::MyNumberCard,
            VariantArg::Juki => Variant::JukiCard,
            VariantArg::Smartphone => Variant::Smartphone,
            VariantArg::Foreign => Variant::Foreign,
        },
        verified_query_ok: !a.verified_query_counter,
        pss: !a.no_pss,
        cross_keys: a.cross_keys,
    };
    let mut card = SimCard::new(Arc::new(pki), state, opts);
    if let Some(p) = a.state.clone() {
        card.on_persist(Box::new(move |s| {
            if let Err(e) = s.save(&p) {
                eprintln!("jpki-card-sim: cannot save state to {}: {e}", p.display());
            }
        }));
    }
    if let Some(path) = a.stats.clone() {
        card.on_stats(Box::new(move |s| {
            if let Err(e) = s.save(&path) {
                eprintln!(
                    "jpki-card-sim: cannot write stats to {}: {e}",
                    path.display()
                );
            }
        }));
    }
    let card = Arc::new(Mutex::new(card));
    let mut faults = Faults {
        delay: a.delay_ms.map(Duration::from_millis),
        pull_at_apdu: a.pull_at_apdu,
        pull_on: a.pull_on.clone(),
        pull_when: a.pull_when,
        sw_on: a.sw_on.clone(),
        truncate_256: a.truncate_256,
        short_apdus_only: a.short_apdus_only,
        ..Faults::default()
    };
    let mut announced = false;
    loop {
        let mut stream = match TcpStream::connect(&a.vpcd) {
            Ok(s) => s,
            Err(e) => {
                if !announced {
                    eprintln!("jpki-card-sim: waiting for vpcd at {} ({e})", a.vpcd);
                    announced = true;
                }
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        eprintln!(
            "jpki-card-sim: card inserted (connected to vpcd at {})",
            a.vpcd
        );
        announced = false;
        let pause = match serve(&mut stream, &card, &mut faults) {
            Ok(Ended::VpcdClosed) => {
                eprintln!("jpki-card-sim: vpcd closed the connection");
                Duration::from_millis(200)
            }
            Ok(Ended::Pulled) => match a.reinsert_after_ms {
                Some(ms) => {
                    eprintln!("jpki-card-sim: card pulled (fault injection); inserting it again in {ms} ms");
                    Duration::from_millis(ms)
                }
                None => {
                    eprintln!("jpki-card-sim: card pulled (fault injection); exiting");
                    return Ok(());
                }
            },
            Err(e) => {
                eprintln!("jpki-card-sim: connection to vpcd lost: {e}");
                Duration::from_millis(200)
            }
        };
        drop(stream);
        if a.once {
            return Ok(());
        }
        std::thread::sleep(pause);
    }
}
