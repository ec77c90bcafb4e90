//! Config profiles against a secured `strom broker`: the console's headless `strom topics
//! --json --profile NAME` reaches the same broker over SASL_SSL with SCRAM-SHA-512 (password
//! from an environment variable), SASL_PLAINTEXT with PLAIN (password from a file), SASL_SSL
//! with SCRAM-SHA-256 (password from a command) and SSL with a client certificate; a wrong
//! password or a certificate from a stranger CA is a clear error and exit status 1 within the
//! timeout, not a hang; a bad config file is exit status 2 naming file, line and key; and the
//! password appears in no output, `--help` included.
//!
//! Certificates are generated at run time (tests/common/tls.rs).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::tls::TestPki;
use common::{strom_bin, BrokerProcess};

const USER: &str = "alice";
/// Distinctive, so that grepping for it cannot match anything else.
const PASSWORD: &str = "Pr0file-s3cr3t-Xq7";
const WRONG: &str = "Wr0ng-pr0file-Kz2";
const TOPIC: &str = "secured-orders";

fn add_user(data: &Path) {
    let mut child = Command::new(strom_bin())
        .args(["broker", "add-user", USER, "--data-dir"])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn add-user");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("add-user");
    assert!(
        out.status.success(),
        "add-user: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Secure {
    dir: tempfile::TempDir,
    pki: TestPki,
    broker: BrokerProcess,
}

impl Secure {
    fn start() -> Secure {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = common::tls::generate(dir.path());
        let data = dir.path().join("data");
        add_user(&data);
        let p = |p: &Path| p.to_str().expect("UTF-8 path").to_string();
        let (cert, key, ca) = (p(&pki.server_cert), p(&pki.server_key), p(&pki.ca));
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
        let broker = BrokerProcess::start_with(&data, None, &args, 4);
        let s = Secure { dir, pki, broker };
        // A topic to find, created over the plaintext loopback listener.
        create_topic(&s.broker.listeners[0]);
        s
    }

    fn listener(&self, i: usize) -> String {
        let l = &self.broker.listeners[i];
        l.split("://").last().expect("address").to_string()
    }

    /// A config file with one profile per way in.
    fn config(&self) -> std::path::PathBuf {
        let pw_file = self.dir.path().join("password.txt");
        std::fs::write(&pw_file, format!("{PASSWORD}\n")).expect("write password file");
        let ca = self.pki.ca.display();
        let text = format!(
            r#"default_profile = "scram"

[profiles.scram]
bootstrap = "{sasl_ssl}"
security.protocol = "SASL_SSL"
sasl.mechanism = "SCRAM-SHA-512"
sasl.username = "{USER}"
sasl.password_env = "STROM_TEST_KAFKA_PASSWORD"
ssl.ca_file = "{ca}"
label = "PRODUCTION"
color = "red"

[profiles.plain]
bootstrap = "{sasl_plaintext}"
security.protocol = "SASL_PLAINTEXT"
sasl.mechanism = "PLAIN"
sasl.username = "{USER}"
sasl.password_file = "{pw_file}"

[profiles.scram256-command]
bootstrap = "{sasl_ssl}"
security.protocol = "SASL_SSL"
sasl.mechanism = "SCRAM-SHA-256"
sasl.username = "{USER}"
sasl.password_command = "printenv STROM_TEST_KAFKA_PASSWORD"
ssl.ca_file = "{ca}"
librdkafka."ssl.endpoint.identification.algorithm" = "https"

[profiles.mtls]
bootstrap = "{ssl}"
security.protocol = "SSL"
ssl.ca_file = "{ca}"
ssl.cert_file = "{cert}"
ssl.key_file = "{key}"

[profiles.stranger]
bootstrap = "{ssl}"
security.protocol = "SSL"
ssl.ca_file = "{ca}"
ssl.cert_file = "{stranger_cert}"
ssl.key_file = "{stranger_key}"

[profiles.wrong]
bootstrap = "{sasl_ssl}"
security.protocol = "SASL_SSL"
sasl.mechanism = "SCRAM-SHA-512"
sasl.username = "{USER}"
sasl.password_env = "STROM_TEST_WRONG_PASSWORD"
ssl.ca_file = "{ca}"
"#,
            sasl_ssl = self.listener(1),
            sasl_plaintext = self.listener(2),
            ssl = self.listener(3),
            pw_file = pw_file.display(),
            cert = self.pki.client_cert.display(),
            key = self.pki.client_key.display(),
            stranger_cert = self.pki.stranger_cert.display(),
            stranger_key = self.pki.stranger_key.display(),
        );
        let path = self.dir.path().join("config.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }
}

fn create_topic(bootstrap: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::config::ClientConfig;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let result = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(TOPIC, 3, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .expect("create topics");
    assert!(result.iter().all(|r| r.is_ok()), "{result:?}");
}

/// `strom ARGS --config CONFIG` with the test password in the environment.
fn strom(config: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(strom_bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("STROM_TEST_KAFKA_PASSWORD", PASSWORD)
        .env("STROM_TEST_WRONG_PASSWORD", WRONG)
        .env("STROM_LOG", "debug")
        .output()
        .expect("run strom");
    (out, start.elapsed())
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn headless_topics_reach_a_secured_broker_through_every_kind_of_profile() {
    let s = Secure::start();
    let config = s.config();
    let mut seen = String::new();
    for profile in [None, Some("plain"), Some("scram256-command"), Some("mtls")] {
        let mut args = vec!["topics", "--json", "--timeout", "10"];
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        let (out, _) = strom(&config, &args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{profile:?}: {stderr}");
        let rows: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        let names: Vec<&str> = rows
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&TOPIC), "{profile:?}: {stdout}");
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    assert!(!seen.contains(PASSWORD), "the password leaked into the output: {seen}");
}

#[test]
fn a_wrong_password_or_an_untrusted_certificate_is_a_clear_error_not_a_hang() {
    let s = Secure::start();
    let config = s.config();
    let (out, took) = strom(&config, &["topics", "--profile", "wrong", "--timeout", "3"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(stderr.contains("SCRAM-SHA-512") && stderr.contains(USER), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!stderr.contains(WRONG) && !stderr.contains(PASSWORD), "{stderr}");

    let (out, took) = strom(&config, &["topics", "--profile", "stranger", "--timeout", "3"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("SSL") || stderr.contains("TLS"), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn config_problems_name_file_line_and_key_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let cases: &[(&str, &str)] = &[
        (
            "[profiles.p]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_SLL\"\n",
            ":3: profiles.p.security.protocol: unknown variant `SASL_SLL`",
        ),
        (
            "[profiles.p]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_SSL\"\nsasl.mechanism = \"PLAIN\"\nsasl.username = \"u\"\nsasl.password = \"inline-secret-9\"\n",
            ":6: profiles.p.sasl.password: passwords are not read from the config file; use sasl.password_env",
        ),
        (
            "[profiles.p]\nbootstrap = \"h:1\"\n\n[profiles.p.librdkafka]\n\"no.such.property\" = 1\n",
            ":5: profiles.p.librdkafka.no.such.property: librdkafka refuses it",
        ),
        (
            "[profiles.p]\nbootstrap = \"h:1\"\nsasl.pasword_env = \"X\"\n",
            "did you mean `password_env`?",
        ),
    ];
    for (body, expected) in cases {
        std::fs::write(&path, body).expect("write config");
        let (out, _) = strom(&path, &["topics", "--profile", "p"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{body}: {stderr}");
        let want = format!("{}{expected}", path.display());
        assert!(
            stderr.contains(&want) || (expected.starts_with("did") && stderr.contains(expected)),
            "{body}\nwanted {want}\ngot {stderr}"
        );
        assert!(!stderr.contains("inline-secret-9"), "{stderr}");
    }
    // A password source that yields nothing names the profile and the source.
    std::fs::write(
        &path,
        "[profiles.p]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_PLAINTEXT\"\nsasl.mechanism = \"PLAIN\"\nsasl.username = \"u\"\nsasl.password_env = \"STROM_TEST_UNSET_VARIABLE\"\n",
    )
    .expect("write config");
    let (out, _) = strom(&path, &["topics", "--profile", "p"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("profile 'p': sasl password: environment variable STROM_TEST_UNSET_VARIABLE is not set"),
        "{stderr}"
    );
}
