//! Listener security of `strom broker`: one broker with four listeners (PLAINTEXT on loopback,
//! SASL_SSL, SASL_PLAINTEXT, and SSL requiring a client certificate) and a user added with
//! `strom broker add-user`, met by real clients — rdkafka, kcat, kafka-python, confluent-kafka,
//! aiokafka and kafkajs — and by raw bytes for the edges of the SASL state machine: what may
//! come before authentication, unknown mechanisms, SaslHandshake v0's raw tokens, failures
//! answered with SASL_AUTHENTICATION_FAILED and a closed connection, the rate limit, users
//! changed while the broker runs, and no password in the log, the data dir or `--help`.
//!
//! Certificates are generated at run time (tests/common/tls.rs).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use sha2::{Digest, Sha512};

use common::scripts::{manifest_dir, node_with, python_with, run_to_end};
use common::tls::TestPki;
use common::{strom_bin, wire, BrokerProcess};

const USER: &str = "alice";
/// Distinctive, so that grepping for it cannot match anything else.
const PASSWORD: &str = "Tr0ub4dor&3-s3cr3t";
const WRONG: &str = "Wr0ng-guess-Zq9x";
const AUTH_MESSAGE: &str = "Authentication failed during authentication due to invalid credentials";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `strom broker add-user NAME --data-dir DIR ARGS`, the password on stdin.
fn add_user(data: &Path, name: &str, password: &str, args: &[&str]) -> Output {
    let mut child = Command::new(strom_bin())
        .args(["broker", "add-user", name, "--data-dir"])
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn add-user");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    child.wait_with_output().expect("add-user output")
}

fn remove_user(data: &Path, name: &str) -> Output {
    Command::new(strom_bin())
        .args(["broker", "remove-user", name, "--data-dir"])
        .arg(data)
        .output()
        .expect("remove-user")
}

/// A broker with four listeners and the user alice.
struct Secure {
    dir: tempfile::TempDir,
    pki: TestPki,
    broker: BrokerProcess,
}

impl Secure {
    fn start(config: Option<&str>) -> Secure {
        Self::start_env(config, &[])
    }

    fn start_env(config: Option<&str>, env: &[(&str, &str)]) -> Secure {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = common::tls::generate(dir.path());
        let data = dir.path().join("data");
        let out = add_user(&data, USER, PASSWORD, &[]);
        assert!(
            out.status.success(),
            "add-user: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = |p: &PathBuf| p.to_str().expect("UTF-8 path").to_string();
        let (cert, key, ca) = (path(&pki.server_cert), path(&pki.server_key), path(&pki.ca));
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "SASL_SSL://127.0.0.1:0",
            "--listen",
            "SASL_PLAINTEXT://127.0.0.1:0",
            "--listen",
            "SSL://127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
        ];
        let broker = BrokerProcess::start_with_env(&data, config, &args, 4, env);
        Secure { dir, pki, broker }
    }

    fn listener(&self, i: usize, prefix: &str) -> String {
        let l = &self.broker.listeners[i];
        l.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("listener {i} is {l}, expected {prefix}"))
            .to_string()
    }
    fn plaintext(&self) -> String {
        self.listener(0, "")
    }
    fn sasl_ssl(&self) -> String {
        self.listener(1, "SASL_SSL://")
    }
    fn sasl_plaintext(&self) -> String {
        self.listener(2, "SASL_PLAINTEXT://")
    }
    fn ssl(&self) -> String {
        self.listener(3, "SSL://")
    }
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn ca(&self) -> &str {
        self.pki.ca.to_str().unwrap()
    }
}

fn port(addr: &str) -> i32 {
    addr.rsplit_once(':').unwrap().1.parse().unwrap()
}

// --- rdkafka -------------------------------------------------------------------------------

/// Records librdkafka's error callbacks and delivery reports.
#[derive(Default, Clone)]
struct Recorder {
    errors: Arc<Mutex<Vec<(Option<RDKafkaErrorCode>, String)>>>,
    delivered: Arc<Mutex<Vec<Result<i64, String>>>>,
}

impl ClientContext for Recorder {
    fn error(&self, error: KafkaError, reason: &str) {
        self.errors
            .lock()
            .unwrap()
            .push((error.rdkafka_error_code(), reason.to_string()));
    }
}

impl ConsumerContext for Recorder {}

impl ProducerContext for Recorder {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        self.delivered.lock().unwrap().push(match result {
            Ok(m) => Ok(m.offset()),
            Err((e, _)) => Err(e.to_string()),
        });
    }
}

fn rd_config(addr: &str, settings: &[(&str, &str)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr);
    for (k, v) in settings {
        c.set(*k, *v);
    }
    c
}

/// Produces three records to partition 0 of `topic` and reads them back; returns the port the
/// metadata gives for the broker.
fn rdkafka_round_trip(addr: &str, settings: &[(&str, &str)], topic: &str) -> i32 {
    let ctx = Recorder::default();
    let producer: BaseProducer<Recorder> = rd_config(addr, settings)
        .set("acks", "all")
        .create_with_context(ctx.clone())
        .expect("producer");
    let values = ["rd-0", "rd-1", "rd-2"];
    for v in values {
        producer
            .send(BaseRecord::<(), _, ()>::to(topic).payload(v).partition(0))
            .map_err(|(e, _)| e)
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
    assert_eq!(
        *ctx.delivered.lock().unwrap(),
        vec![Ok(0), Ok(1), Ok(2)],
        "deliveries; client errors: {:?}",
        ctx.errors.lock().unwrap()
    );
    let consumer: BaseConsumer<Recorder> = rd_config(addr, settings)
        .set("group.id", "sasl-rdkafka")
        .set("enable.auto.commit", "false")
        .create_with_context(Recorder::default())
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).expect("assign");
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < values.len() && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    assert_eq!(got, values, "records read back over {addr}");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    md.brokers()[0].port()
}

#[test]
fn rdkafka_round_trips_over_every_listener_and_metadata_names_the_listener_it_came_through() {
    let s = Secure::start(None);
    let ca = s.ca().to_string();
    let scram_ssl = [
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanisms", "SCRAM-SHA-512"),
        ("sasl.username", USER),
        ("sasl.password", PASSWORD),
        ("ssl.ca.location", ca.as_str()),
    ];
    assert_eq!(
        rdkafka_round_trip(&s.sasl_ssl(), &scram_ssl, "over-sasl-ssl"),
        port(&s.sasl_ssl())
    );

    for mechanism in ["PLAIN", "SCRAM-SHA-256"] {
        let settings = [
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", mechanism),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ];
        let topic = format!("over-sasl-plaintext-{}", mechanism.to_lowercase());
        assert_eq!(
            rdkafka_round_trip(&s.sasl_plaintext(), &settings, &topic),
            port(&s.sasl_plaintext())
        );
    }

    let cert = s.pki.client_cert.to_str().unwrap().to_string();
    let key = s.pki.client_key.to_str().unwrap().to_string();
    let mtls = [
        ("security.protocol", "SSL"),
        ("ssl.ca.location", ca.as_str()),
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ];
    assert_eq!(rdkafka_round_trip(&s.ssl(), &mtls, "over-ssl"), port(&s.ssl()));

    // The loopback PLAINTEXT listener beside them still serves the same topics.
    assert_eq!(
        rdkafka_round_trip(&s.plaintext(), &[], "over-plaintext"),
        port(&s.plaintext())
    );
}

/// Waits for librdkafka to report an error matching `pred`; returns it and how long it took.
fn first_error(
    addr: &str,
    settings: &[(&str, &str)],
    pred: impl Fn(&(Option<RDKafkaErrorCode>, String)) -> bool,
) -> ((Option<RDKafkaErrorCode>, String), Duration) {
    let ctx = Recorder::default();
    let start = Instant::now();
    let consumer: BaseConsumer<Recorder> = rd_config(addr, settings)
        .set("group.id", "sasl-fail")
        .create_with_context(ctx.clone())
        .expect("consumer");
    // Metadata cannot succeed; polling drives the callbacks.
    let _ = consumer.fetch_metadata(None, Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(e) = ctx.errors.lock().unwrap().iter().find(|e| pred(e)) {
            return (e.clone(), start.elapsed());
        }
        assert!(
            Instant::now() < deadline,
            "no matching error within 15 s: {:?}",
            ctx.errors.lock().unwrap()
        );
        let _ = consumer.poll(Duration::from_millis(100));
    }
}

#[test]
fn a_wrong_password_fails_fast_with_an_authentication_error() {
    let s = Secure::start(None);
    let ca = s.ca().to_string();
    for (addr, protocol, mechanism) in [
        (s.sasl_ssl(), "SASL_SSL", "SCRAM-SHA-512"),
        (s.sasl_plaintext(), "SASL_PLAINTEXT", "PLAIN"),
    ] {
        let settings = [
            ("security.protocol", protocol),
            ("sasl.mechanisms", mechanism),
            ("sasl.username", USER),
            ("sasl.password", WRONG),
            ("ssl.ca.location", ca.as_str()),
        ];
        let ((code, reason), took) =
            first_error(&addr, &settings, |(c, _)| *c == Some(RDKafkaErrorCode::Authentication));
        assert_eq!(code, Some(RDKafkaErrorCode::Authentication));
        assert!(reason.contains(AUTH_MESSAGE) && reason.contains(mechanism), "{reason}");
        assert!(took < Duration::from_secs(5), "{protocol}: took {took:?}");
    }
    // The log says who failed and why, without the guess.
    let log = s.broker.log_text();
    assert!(
        log.contains("authentication of user \"alice\" with SCRAM-SHA-512 failed: invalid client proof"),
        "{log}"
    );
    assert!(
        log.contains("authentication of user \"alice\" with PLAIN failed"),
        "{log}"
    );
    assert!(!log.contains(WRONG));
}

#[test]
fn ssl_listener_requires_a_certificate_from_the_client_ca() {
    let s = Secure::start(None);
    let ca = s.ca().to_string();
    let (cert, key) = (
        s.pki.stranger_cert.to_str().unwrap().to_string(),
        s.pki.stranger_key.to_str().unwrap().to_string(),
    );
    let stranger = [
        ("security.protocol", "SSL"),
        ("ssl.ca.location", ca.as_str()),
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ];
    let none = [("security.protocol", "SSL"), ("ssl.ca.location", ca.as_str())];
    for (what, settings) in [
        ("a stranger's certificate", &stranger[..]),
        ("no certificate", &none[..]),
    ] {
        let ((code, reason), _) = first_error(&s.ssl(), settings, |(c, _)| {
            matches!(
                c,
                Some(RDKafkaErrorCode::SSL)
                    | Some(RDKafkaErrorCode::AllBrokersDown)
                    | Some(RDKafkaErrorCode::BrokerTransportFailure)
            )
        });
        assert!(code.is_some(), "{what}: {reason}");
    }
    let log = s.broker.log_text();
    assert!(
        log.matches("TLS: handshake failed").count() >= 2,
        "both handshakes refused by the broker: {log}"
    );
    // The SASL_SSL listener does not ask for a client certificate (Kafka's default).
    let scram_ssl = [
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanisms", "SCRAM-SHA-256"),
        ("sasl.username", USER),
        ("sasl.password", PASSWORD),
        ("ssl.ca.location", ca.as_str()),
    ];
    rdkafka_round_trip(&s.sasl_ssl(), &scram_ssl, "sasl-ssl-no-client-cert");
}

// --- kcat ----------------------------------------------------------------------------------

/// Debian's kcat with its own librdkafka (see compat_kcat.rs for why LD_LIBRARY_PATH goes).
fn kcat() -> Command {
    let out = Command::new("which").arg("kcat").output().expect("run `which kcat`");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        panic!("kcat not found: run `bash .ci/run` (it installs kcat) or `apt-get install kcat`");
    }
    let mut cmd = Command::new(path);
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        let kept: Vec<PathBuf> = std::env::split_paths(&paths)
            .filter(|d| !d.join("librdkafka.so.1").exists())
            .collect();
        match std::env::join_paths(kept) {
            Ok(joined) if !joined.is_empty() => cmd.env("LD_LIBRARY_PATH", joined),
            _ => cmd.env_remove("LD_LIBRARY_PATH"),
        };
    }
    cmd
}

/// Runs kcat (bounded by `-m`/`-e` and a 60 s kill) and returns (success, stdout, stderr).
fn run_kcat(addr: &str, settings: &[(&str, &str)], args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut cmd = kcat();
    cmd.args(["-b", addr]);
    for (k, v) in settings {
        cmd.arg("-X").arg(format!("{k}={v}"));
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kcat");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().expect("kcat output");
    drop(killer);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kcat_round_trip(addr: &str, settings: &[(&str, &str)], topic: &str) {
    let (ok, _, err) = run_kcat(addr, settings, &["-P", "-t", topic, "-p", "0"], "kc-0\nkc-1\nkc-2\n");
    assert!(ok, "kcat -P over {addr}: {err}");
    let (ok, out, err) = run_kcat(
        addr,
        settings,
        &["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-m", "20"],
        "",
    );
    assert!(ok, "kcat -C over {addr}: {err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["kc-0", "kc-1", "kc-2"], "{err}");
}

#[test]
fn kcat_with_scram_over_sasl_ssl_plain_over_sasl_plaintext_and_a_client_certificate() {
    let s = Secure::start(None);
    let ca = s.ca().to_string();
    kcat_round_trip(
        &s.sasl_ssl(),
        &[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
            ("ssl.ca.location", &ca),
        ],
        "kcat-scram",
    );
    kcat_round_trip(
        &s.sasl_plaintext(),
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ],
        "kcat-plain",
    );
    let cert = s.pki.client_cert.to_str().unwrap();
    let key = s.pki.client_key.to_str().unwrap();
    kcat_round_trip(
        &s.ssl(),
        &[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", &ca),
            ("ssl.certificate.location", cert),
            ("ssl.key.location", key),
        ],
        "kcat-mtls",
    );
    // A wrong password: kcat gives up on its metadata timeout, having printed the broker's
    // reason at once.
    let (ok, _, err) = run_kcat(
        &s.sasl_ssl(),
        &[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", USER),
            ("sasl.password", WRONG),
            ("ssl.ca.location", &ca),
        ],
        &["-L", "-m", "3"],
        "",
    );
    assert!(!ok);
    assert!(
        err.contains("SASL authentication error") && err.contains(AUTH_MESSAGE),
        "{err}"
    );
}

// --- Python and Node clients -----------------------------------------------------------------

fn settings_json(
    s: &Secure,
    protocol: &str,
    mechanism: Option<&str>,
    client_cert: bool,
    topic: &str,
    expect: &str,
) -> String {
    let mut v = vec![
        format!("\"protocol\": \"{protocol}\""),
        format!("\"topic\": \"{topic}\""),
        format!("\"expect\": \"{expect}\""),
    ];
    if let Some(m) = mechanism {
        v.push(format!("\"mechanism\": \"{m}\", \"user\": \"{USER}\""));
    }
    if protocol.ends_with("SSL") {
        v.push(format!("\"ca\": \"{}\"", s.ca()));
    }
    if client_cert {
        v.push(format!(
            "\"cert\": \"{}\", \"key\": \"{}\"",
            s.pki.client_cert.display(),
            s.pki.client_key.display()
        ));
    }
    format!("{{{}}}", v.join(", "))
}

fn python_client(s: &Secure, library: &str, addr: &str, settings: &str, password: &str) -> String {
    let python = python_with(&[
        ("kafka", "kafka-python"),
        ("confluent_kafka", "confluent-kafka"),
        ("aiokafka", "aiokafka"),
    ]);
    let mut cmd = Command::new(python);
    cmd.arg(manifest_dir().join("tests/python/sasl_clients.py"))
        .args([addr, library, settings])
        .env("STROM_TEST_SASL_PASSWORD", password);
    run_to_end(
        cmd,
        &format!("sasl_clients.py {library} {settings}"),
        SCRIPT_TIMEOUT,
        &s.broker,
    )
}

#[test]
fn kafka_python_with_the_same_credentials_and_a_clear_failure_on_a_wrong_password() {
    let s = Secure::start(None);
    let lib = "kafka-python";
    let runs = [
        (
            s.sasl_ssl(),
            settings_json(&s, "SASL_SSL", Some("SCRAM-SHA-512"), false, "kp-scram", "ok"),
        ),
        (
            s.sasl_plaintext(),
            settings_json(&s, "SASL_PLAINTEXT", Some("PLAIN"), false, "kp-plain", "ok"),
        ),
        (s.ssl(), settings_json(&s, "SSL", None, true, "kp-mtls", "ok")),
    ];
    for (addr, settings) in &runs {
        let out = python_client(&s, lib, addr, settings, PASSWORD);
        assert!(out.contains("connected kafka-python"), "{out}");
    }
    let settings = settings_json(&s, "SASL_SSL", Some("SCRAM-SHA-512"), false, "-", "auth-failure");
    let out = python_client(&s, lib, &s.sasl_ssl(), &settings, WRONG);
    assert!(out.contains(AUTH_MESSAGE), "{out}");
}

#[test]
fn confluent_kafka_and_aiokafka_over_sasl_ssl() {
    let s = Secure::start(None);
    let scram = settings_json(&s, "SASL_SSL", Some("SCRAM-SHA-512"), false, "ck-scram", "ok");
    let out = python_client(&s, "confluent-kafka", &s.sasl_ssl(), &scram, PASSWORD);
    assert!(out.contains("connected confluent-kafka"), "{out}");
    let failure = settings_json(&s, "SASL_SSL", Some("SCRAM-SHA-512"), false, "-", "auth-failure");
    let out = python_client(&s, "confluent-kafka", &s.sasl_ssl(), &failure, WRONG);
    assert!(out.contains(AUTH_MESSAGE), "{out}");
    let scram = settings_json(&s, "SASL_SSL", Some("SCRAM-SHA-256"), false, "aio-scram", "ok");
    let out = python_client(&s, "aiokafka", &s.sasl_ssl(), &scram, PASSWORD);
    assert!(out.contains("connected aiokafka"), "{out}");
}

#[test]
fn kafkajs_over_sasl_ssl_with_scram_and_a_clear_failure_on_a_wrong_password() {
    let node = node_with("kafkajs");
    let s = Secure::start(Some("\"group.initial.rebalance.delay.ms\" = 0\n"));
    let run = |expect: &str, password: &str, topic: &str| {
        let settings = format!(
            "{{\"ssl\": true, \"ca\": \"{}\", \"mechanism\": \"scram-sha-512\", \"user\": \"{USER}\", \"topic\": \"{topic}\", \"expect\": \"{expect}\"}}",
            s.ca()
        );
        let mut cmd = Command::new(&node);
        cmd.arg(manifest_dir().join("tests/js/kafkajs_sasl.js"))
            .args([&s.sasl_ssl(), &settings])
            .env("STROM_TEST_SASL_PASSWORD", password);
        run_to_end(cmd, &format!("kafkajs_sasl.js {expect}"), SCRIPT_TIMEOUT, &s.broker)
    };
    assert!(run("ok", PASSWORD, "kjs-scram").contains("connected kafkajs"));
    assert!(run("auth-failure", WRONG, "-").contains(AUTH_MESSAGE));
}

// --- Raw bytes: the state machine ------------------------------------------------------------

fn handshake(s: &mut TcpStream, version: i16, mechanism: &str) -> SaslHandshakeResponse {
    let mut req = SaslHandshakeRequest::default();
    req.mechanism = StrBytes::from_string(mechanism.to_string());
    wire::call(s, &req, version)
}

fn authenticate(s: &mut TcpStream, version: i16, token: &[u8]) -> SaslAuthenticateResponse {
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = token.to_vec().into();
    wire::call(s, &req, version)
}

fn plain(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

fn metadata_works(s: &mut TcpStream) -> bool {
    let resp = wire::call(s, &MetadataRequest::default(), 12);
    resp.brokers.len() == 1
}

/// Writes a raw size-prefixed token (after SaslHandshake v0) and reads the raw reply.
fn raw_token(s: &mut TcpStream, token: &[u8]) -> Option<Vec<u8>> {
    let mut frame = (token.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(token);
    s.write_all(&frame).unwrap();
    wire::read_frame(s).map(|b| b.to_vec())
}

fn hmac512(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// The client side of SCRAM-SHA-512 over SaslAuthenticate `version`: checks the server's
/// signature and returns the final response.
fn scram512(s: &mut TcpStream, version: i16, user: &str, password: &str) -> SaslAuthenticateResponse {
    let bare = format!("n={user},r=rawclientnonce");
    let first = authenticate(s, version, format!("n,,{bare}").as_bytes());
    assert_eq!(first.error_code, 0);
    let server_first = String::from_utf8(first.auth_bytes.to_vec()).unwrap();
    let attr = |k: &str| {
        server_first
            .split(',')
            .find_map(|a| a.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    let (nonce, salt, iterations) = (
        attr("r="),
        B64.decode(attr("s=")).unwrap(),
        attr("i=").parse::<u32>().unwrap(),
    );
    assert!(nonce.starts_with("rawclientnonce") && nonce.len() > "rawclientnonce".len());
    assert_eq!(iterations, 4096);
    let mut salted = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, iterations, &mut salted);
    let client_key = hmac512(&salted, b"Client Key");
    let stored_key = Sha512::digest(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth = format!("{bare},{server_first},{without_proof}");
    let signature = hmac512(&stored_key, auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
    let last = authenticate(
        s,
        version,
        format!("{without_proof},p={}", B64.encode(proof)).as_bytes(),
    );
    if last.error_code == 0 {
        let server_key = hmac512(&salted, b"Server Key");
        let expected = format!("v={}", B64.encode(hmac512(&server_key, auth.as_bytes())));
        assert_eq!(String::from_utf8_lossy(&last.auth_bytes), expected, "server signature");
    }
    last
}

#[test]
fn before_authentication_only_api_versions_and_the_sasl_exchange_are_answered() {
    let s = Secure::start(None);
    let addr = s.sasl_plaintext();

    // Metadata first: closed without an answer.
    let mut c = wire::connect(&addr);
    c.write_all(&wire::frame(&MetadataRequest::default(), 12, 1)).unwrap();
    assert!(
        wire::is_closed(&mut c),
        "Metadata before the handshake closes the connection"
    );

    // ApiVersions is answered (and advertises the SASL APIs), then Metadata closes.
    let mut c = wire::connect(&addr);
    let versions = wire::call(&mut c, &ApiVersionsRequest::default(), 3);
    let range = |key: ApiKey| {
        versions
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(range(ApiKey::SaslHandshake), Some((0, 1)));
    assert_eq!(range(ApiKey::SaslAuthenticate), Some((0, 2)));
    c.write_all(&wire::frame(&MetadataRequest::default(), 12, 1)).unwrap();
    assert!(wire::is_closed(&mut c), "Metadata after ApiVersions closes");

    // ApiVersions once only, as Kafka's authenticator allows.
    let mut c = wire::connect(&addr);
    wire::call(&mut c, &ApiVersionsRequest::default(), 3);
    c.write_all(&wire::frame(&ApiVersionsRequest::default(), 3, 2)).unwrap();
    assert!(wire::is_closed(&mut c), "a second ApiVersions closes");

    // SaslAuthenticate before the handshake closes.
    let mut c = wire::connect(&addr);
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = plain(USER, PASSWORD).into();
    c.write_all(&wire::frame(&req, 2, 1)).unwrap();
    assert!(wire::is_closed(&mut c));

    // After the handshake, anything but SaslAuthenticate closes.
    let mut c = wire::connect(&addr);
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
    c.write_all(&wire::frame(&MetadataRequest::default(), 12, 1)).unwrap();
    assert!(wire::is_closed(&mut c), "Metadata during the exchange closes");

    // Before authentication a frame beyond sasl.server.max.receive.size closes at once.
    let mut c = wire::connect(&addr);
    c.write_all(&600_000i32.to_be_bytes()).unwrap();
    assert!(wire::is_closed(&mut c), "a 600 kB frame before authentication closes");

    // Authenticated: the rest of the API, and the SASL APIs answer ILLEGAL_SASL_STATE.
    let mut c = wire::connect(&addr);
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
    let ok = authenticate(&mut c, 2, &plain(USER, PASSWORD));
    assert_eq!((ok.error_code, ok.auth_bytes.len(), ok.session_lifetime_ms), (0, 0, 0));
    assert!(metadata_works(&mut c));
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 34);
    assert_eq!(authenticate(&mut c, 2, b"again").error_code, 34);
    assert!(metadata_works(&mut c), "still usable");

    // The PLAINTEXT listener answers SaslHandshake with ILLEGAL_SASL_STATE and stays usable.
    let mut c = wire::connect(&s.plaintext());
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 34);
    assert!(metadata_works(&mut c));
}

#[test]
fn unknown_mechanisms_get_the_enabled_list_and_a_closed_connection() {
    let s = Secure::start(Some("\"sasl.enabled.mechanisms\" = \"SCRAM-SHA-512,PLAIN\"\n"));
    for mechanism in ["GSSAPI", "SCRAM-SHA-256", "plain"] {
        let mut c = wire::connect(&s.sasl_plaintext());
        let resp = handshake(&mut c, 1, mechanism);
        assert_eq!(resp.error_code, 33, "{mechanism}: UNSUPPORTED_SASL_MECHANISM");
        let names: Vec<String> = resp.mechanisms.iter().map(|m| m.to_string()).collect();
        assert_eq!(names, ["SCRAM-SHA-512", "PLAIN"]);
        assert!(wire::is_closed(&mut c), "{mechanism}: closed after the answer");
    }
    let mut c = wire::connect(&s.sasl_plaintext());
    let ok = handshake(&mut c, 0, "PLAIN");
    assert_eq!(ok.error_code, 0);
    assert_eq!(ok.mechanisms.len(), 2);
}

#[test]
fn scram_in_sasl_authenticate_v0_to_v2_signs_for_the_right_password_and_fails_the_wrong_one() {
    let s = Secure::start(None);
    for version in 0..=2 {
        let mut c = wire::connect(&s.sasl_plaintext());
        assert_eq!(handshake(&mut c, 1, "SCRAM-SHA-512").error_code, 0);
        let last = scram512(&mut c, version, USER, PASSWORD);
        assert_eq!(last.error_code, 0, "v{version}: {:?}", last.error_message);
        assert!(metadata_works(&mut c), "v{version}: authenticated");
    }
    // A wrong password and an unknown user look the same from outside: 58, the same message,
    // after the failure delay, then the connection closes.
    for (user, password) in [(USER, WRONG), ("mallory", PASSWORD)] {
        let mut c = wire::connect(&s.sasl_plaintext());
        assert_eq!(handshake(&mut c, 1, "SCRAM-SHA-512").error_code, 0);
        let start = Instant::now();
        let last = scram512(&mut c, 2, user, password);
        let took = start.elapsed();
        assert_eq!(last.error_code, 58, "{user}");
        assert_eq!(
            last.error_message.as_deref(),
            Some("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
        );
        assert!(
            took >= Duration::from_millis(90),
            "{user}: answered after the 100 ms delay, took {took:?}"
        );
        assert!(wire::is_closed(&mut c), "{user}: closed after failing");
    }
}

#[test]
fn sasl_handshake_v0_exchanges_raw_tokens() {
    let s = Secure::start(None);
    let mut c = wire::connect(&s.sasl_plaintext());
    assert_eq!(handshake(&mut c, 0, "PLAIN").error_code, 0);
    assert_eq!(
        raw_token(&mut c, &plain(USER, PASSWORD)),
        Some(Vec::new()),
        "an empty raw token"
    );
    assert!(metadata_works(&mut c), "authenticated after the raw token");

    // A failure has no way to be told in v0: the connection closes without a reply.
    let mut c = wire::connect(&s.sasl_plaintext());
    assert_eq!(handshake(&mut c, 0, "PLAIN").error_code, 0);
    assert_eq!(raw_token(&mut c, &plain(USER, WRONG)), None);

    // SCRAM over raw tokens: server-first comes back raw.
    let mut c = wire::connect(&s.sasl_plaintext());
    assert_eq!(handshake(&mut c, 0, "SCRAM-SHA-256").error_code, 0);
    let reply = raw_token(&mut c, b"n,,n=alice,r=abc").expect("server-first");
    let text = String::from_utf8(reply).unwrap();
    assert!(
        text.starts_with("r=abc") && text.contains(",s=") && text.ends_with(",i=4096"),
        "{text}"
    );
}

#[test]
fn failed_logins_are_rate_limited_per_client_address() {
    let s = Secure::start(Some(
        "\"sasl.failed.authentications.per.minute\" = 2\n\"connection.failed.authentication.delay.ms\" = 0\n",
    ));
    let login = |password: &str| {
        let mut c = wire::connect(&s.sasl_plaintext());
        assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
        let r = authenticate(&mut c, 2, &plain(USER, password));
        (r.error_code, r.error_message.map(|m| m.to_string()).unwrap_or_default())
    };
    assert_eq!(login(WRONG).0, 58);
    assert_eq!(login(WRONG).0, 58);
    // The bucket is empty: even the right password is refused, saying why and for how long.
    let (code, message) = login(PASSWORD);
    assert_eq!(code, 58);
    assert!(
        message.starts_with("too many failed authentications from 127.0.0.1; try again in"),
        "{message}"
    );
    // Listeners without SASL are not affected.
    let mut c = wire::connect(&s.plaintext());
    assert!(metadata_works(&mut c));
}

#[test]
fn users_added_and_removed_while_the_broker_runs_take_effect_at_the_next_login() {
    let s = Secure::start(None);
    let login = |user: &str, password: &str, mechanism: &str| {
        let mut c = wire::connect(&s.sasl_plaintext());
        assert_eq!(handshake(&mut c, 1, mechanism).error_code, 0);
        if mechanism == "PLAIN" {
            authenticate(&mut c, 2, &plain(user, password)).error_code
        } else {
            scram512(&mut c, 2, user, password).error_code
        }
    };
    assert_eq!(login("bob", "bobs-pw", "PLAIN"), 58);
    let out = add_user(&s.data(), "bob", "bobs-pw", &["--mechanism", "SCRAM-SHA-256"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        login("bob", "bobs-pw", "PLAIN"),
        0,
        "PLAIN checks the SCRAM-SHA-256 credential"
    );
    assert_eq!(
        login("bob", "bobs-pw", "SCRAM-SHA-512"),
        58,
        "no SCRAM-SHA-512 credential was stored"
    );
    // A new password replaces the old one.
    assert!(add_user(&s.data(), "bob", "new-pw", &[]).status.success());
    assert_eq!(login("bob", "bobs-pw", "PLAIN"), 58);
    assert_eq!(login("bob", "new-pw", "SCRAM-SHA-512"), 0);
    let out = remove_user(&s.data(), "bob");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(login("bob", "new-pw", "PLAIN"), 58);
    assert_eq!(login(USER, PASSWORD, "PLAIN"), 0, "alice is untouched");
    let again = remove_user(&s.data(), "bob");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no user \"bob\""));
    assert!(s.broker.log_text().contains("users file reloaded"));
}

#[test]
fn no_password_in_the_debug_log_the_data_dir_or_help() {
    let s = Secure::start_env(None, &[("STROM_LOG", "debug")]);
    // Authenticated sessions with each mechanism, over both SASL listeners, and failures.
    let ca = s.ca().to_string();
    for (addr, protocol, mechanism, password) in [
        (s.sasl_ssl(), "SASL_SSL", "SCRAM-SHA-512", PASSWORD),
        (s.sasl_plaintext(), "SASL_PLAINTEXT", "PLAIN", PASSWORD),
    ] {
        let settings = [
            ("security.protocol", protocol),
            ("sasl.mechanisms", mechanism),
            ("sasl.username", USER),
            ("sasl.password", password),
            ("ssl.ca.location", ca.as_str()),
        ];
        rdkafka_round_trip(&addr, &settings, &format!("secret-{}", mechanism.to_lowercase()));
    }
    let mut c = wire::connect(&s.sasl_plaintext());
    handshake(&mut c, 1, "PLAIN");
    assert_eq!(authenticate(&mut c, 2, &plain(USER, WRONG)).error_code, 58);
    let log = s.broker.log_text();
    assert!(
        log.contains("SASL authentication succeeded"),
        "debug logging is on: {log}"
    );
    for secret in [PASSWORD, WRONG] {
        assert!(!log.contains(secret), "{secret} in the broker log");
        assert!(
            !log.contains(&B64.encode(secret)),
            "{secret} (base64) in the broker log"
        );
    }
    // Nothing under the data dir holds the password.
    let mut stack = vec![s.data()];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !bytes.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()),
                    "{} holds the password",
                    path.display()
                );
            }
        }
    }
    assert!(files > 3, "the walk saw the data dir ({files} files)");
    // No command takes a password on its command line.
    for args in [
        &["broker", "--help"][..],
        &["broker", "add-user", "--help"],
        &["--help"],
    ] {
        let out = Command::new(strom_bin()).args(args).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !help.is_empty(), "{args:?}");
        assert!(
            !help.contains("--password") && !help.contains("--pass "),
            "{args:?}: {help}"
        );
    }
}

#[test]
fn add_user_reads_the_password_from_stdin_and_refuses_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = add_user(&data, "carol", "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password is empty"));
    assert!(!data.join("users.toml").exists());
    let out = add_user(&data, "bad\tname", "pw", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("control characters"));
    let out = add_user(&data, "carol", "pw with spaces\r", &["--iterations", "8192"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("added user \"carol\" (SCRAM-SHA-256, SCRAM-SHA-512)"),
        "{text}"
    );
    let file = std::fs::read_to_string(data.join("users.toml")).unwrap();
    assert!(file.contains("iterations = 8192"), "{file}");
}

// --- Refusals at start ------------------------------------------------------------------------

fn broker_refuses(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(strom_bin())
        .arg("broker")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}: never claims to listen");
    assert!(!dir.path().join("data").exists(), "{args:?}: nothing created");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_listener_beyond_loopback_without_authentication_is_refused_with_the_reason() {
    for listen in ["0.0.0.0:0", "PLAINTEXT://:0"] {
        let err = broker_refuses(&["--listen", listen]);
        assert!(
            err.contains("refusing to listen on PLAINTEXT://0.0.0.0:0 without authentication"),
            "{err}"
        );
        assert!(
            err.contains("--insecure-listen") && err.contains("SASL_SSL://"),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = common::tls::generate(dir.path());
    let (cert, key) = (pki.server_cert.to_str().unwrap(), pki.server_key.to_str().unwrap());
    let err = broker_refuses(&["--listen", "SSL://0.0.0.0:0", "--tls-cert", cert, "--tls-key", key]);
    assert!(err.contains("refusing to listen on SSL://0.0.0.0:0"), "{err}");
}

#[test]
fn bad_listener_and_tls_flags_exit_2_naming_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let pki = common::tls::generate(dir.path());
    let (cert, key) = (pki.server_cert.to_str().unwrap(), pki.server_key.to_str().unwrap());
    let err = broker_refuses(&["--listen", "TLS://127.0.0.1:0"]);
    assert!(err.contains("unknown security protocol 'TLS'"), "{err}");
    let err = broker_refuses(&["--listen", "SASL_SSL://127.0.0.1:0"]);
    assert!(err.contains("needs --tls-cert and --tls-key"), "{err}");
    // The key given as the certificate, and the certificate as the key.
    let err = broker_refuses(&["--listen", "SSL://127.0.0.1:0", "--tls-cert", key, "--tls-key", cert]);
    assert!(err.contains(key) && err.contains("no PEM certificate"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = broker_refuses(&[
        "--listen",
        "SSL://127.0.0.1:0",
        "--tls-cert",
        cert,
        "--tls-key",
        missing.to_str().unwrap(),
    ]);
    assert!(err.contains("missing.pem"), "{err}");
    let err = broker_refuses(&["--listen", "127.0.0.1:0", "--listen", "PLAINTEXT://127.0.0.1:0"]);
    assert!(err.contains("two PLAINTEXT listeners"), "{err}");
}
