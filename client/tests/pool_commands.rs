//! The pool handle: every command, the same replies over the module and the Lua library,
//! and the library loaded by the client when the server lacks it.

mod common;

use std::time::Duration;

use common::{case, Server};
use gpool_client::{ApiKey, Engine, Outcome, Report};

fn keys(names: &[&str]) -> Vec<ApiKey> {
    names.iter().map(|n| ApiKey::new(*n)).collect()
}

fn engine_is_detected_and_the_library_loaded_when_missing(engine: Engine) {
    let server = Server::start(engine);
    let pool = server.pool("gemini");
    assert_eq!(pool.engine(), engine);
    let mut con = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let libraries: redis::Value = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("LIBRARYNAME")
        .arg("gpool")
        .query(&mut con)
        .unwrap();
    let loaded = matches!(&libraries, redis::Value::Array(a) if !a.is_empty());
    // With the module there is nothing to load; without it the client loaded the library.
    assert_eq!(loaded, engine == Engine::Lua);

    // A second handle finds the library already there.
    assert_eq!(server.pool("gemini").engine(), engine);
}

fn rotation_spend_restore_record_and_usage(engine: Engine) {
    let server = Server::start(engine);
    let mut pool = server.pool("gemini");
    let k = keys(&["test-key-0001", "test-key-0002", "test-key-0003"]);
    assert_eq!(pool.add(&k).unwrap(), 3);
    assert_eq!(pool.add(&k[..1]).unwrap(), 0);

    assert_eq!(pool.next("embed").unwrap(), Some(k[0].clone()));
    assert_eq!(pool.next("embed").unwrap(), Some(k[1].clone()));
    assert_eq!(pool.next("generate").unwrap(), Some(k[0].clone()));

    assert!(pool.spend(&k[2], "embed").unwrap());
    assert!(!pool.spend(&k[2], "embed").unwrap());
    assert_eq!(pool.next("embed").unwrap(), Some(k[0].clone()));
    assert!(pool.restore(&k[2], "embed").unwrap());
    assert!(!pool.restore(&k[2], "embed").unwrap());

    assert_eq!(pool.record(&k[2], 5).unwrap(), 5);
    assert_eq!(pool.usage(&k).unwrap(), vec![3, 1, 5]);
    let by_fingerprint = pool.usage_by_fingerprint().unwrap();
    assert_eq!(by_fingerprint.get(&k[2].fingerprint()), Some(&5));

    let status = pool.status().unwrap();
    assert_eq!(status.keys, 3);
    assert_eq!(status.timezone, "America/Los_Angeles");
    assert_eq!(status.classes["embed"].active, 3);

    assert_eq!(pool.remove(&k[1..2]).unwrap(), 1);
    assert_eq!(pool.status().unwrap().keys, 2);
    assert_eq!(pool.round_trips(), 16);
}

fn report_judges_the_cases_and_status_shows_it(engine: Engine) {
    let server = Server::start(engine);
    let mut pool = server.pool("gemini");
    let k = keys(&[
        "test-key-0001",
        "test-key-0002",
        "test-key-0003",
        "test-key-0004",
    ]);
    pool.add(&k).unwrap();
    let report = |pool: &mut gpool_client::Pool, key: &ApiKey, name: &str| {
        let c = case(name);
        pool.report(key, "embed", c.status, c.body.as_bytes())
            .unwrap()
    };

    assert_eq!(
        report(&mut pool, &k[0], "gemini-overloaded"),
        Report {
            outcome: Outcome::Transient,
            cooldown: Duration::ZERO,
            streak: 1
        }
    );
    assert_eq!(
        report(&mut pool, &k[0], "gemini-daily-embed"),
        Report {
            outcome: Outcome::Daily,
            cooldown: Duration::ZERO,
            streak: 1
        }
    );
    assert_eq!(
        report(&mut pool, &k[1], "gemini-fractional-delay"),
        Report {
            outcome: Outcome::Cooldown,
            cooldown: Duration::from_secs(46),
            streak: 2
        }
    );
    assert_eq!(
        report(&mut pool, &k[2], "gemini-invalid-key").outcome,
        Outcome::Permanent
    );
    assert_eq!(
        report(&mut pool, &k[3], "gemini-ok"),
        Report {
            outcome: Outcome::Ok,
            cooldown: Duration::ZERO,
            streak: 0
        }
    );

    let embed = &pool.status().unwrap().classes["embed"];
    assert_eq!(
        (
            embed.active,
            embed.spent,
            embed.cooling,
            embed.disabled,
            embed.streak
        ),
        (1, 1, 1, 1, 0)
    );
    assert_eq!(pool.next("embed").unwrap(), Some(k[3].clone()));

    // The full RESTORE lifts every penalty; the class-wise one only the spent mark.
    assert!(pool.restore_all(&k[2]).unwrap());
    assert!(!pool.restore_all(&k[2]).unwrap());
    assert!(pool.restore(&k[0], "embed").unwrap());
    assert_eq!(pool.status().unwrap().classes["embed"].active, 3);
}

fn projects_share_a_daily_quota(engine: Engine) {
    let server = Server::start(engine);
    let mut pool = server.pool("gemini");
    let k = keys(&["test-key-0001", "test-key-0002", "test-key-0003"]);
    pool.add(&k).unwrap();
    assert_eq!(pool.project("project-a", &k[..2]).unwrap(), 2);
    let daily = case("gemini-daily-embed");
    let report = pool
        .report(&k[0], "embed", daily.status, daily.body.as_bytes())
        .unwrap();
    assert_eq!(report.outcome, Outcome::Daily);
    assert_eq!(pool.status().unwrap().classes["embed"].spent, 2);
    assert_eq!(pool.next("embed").unwrap(), Some(k[2].clone()));
    assert_eq!(pool.next("embed").unwrap(), Some(k[2].clone()));
}

fn pins_are_set_counted_down_and_lifted(engine: Engine) {
    let server = Server::start(engine);
    let mut pool = server.pool("gemini");
    assert_eq!(pool.pinned("openrouter-only").unwrap(), Duration::ZERO);
    pool.pin("openrouter-only", Duration::from_secs(1800))
        .unwrap();
    let left = pool.pinned("openrouter-only").unwrap();
    assert!(
        left > Duration::from_secs(1795) && left <= Duration::from_secs(1800),
        "{left:?}"
    );
    assert_eq!(
        pool.status().unwrap().pins.get("openrouter-only"),
        Some(&1800)
    );
    assert!(pool.unpin("openrouter-only").unwrap());
    assert!(!pool.unpin("openrouter-only").unwrap());
    assert_eq!(pool.pinned("openrouter-only").unwrap(), Duration::ZERO);
}

fn refusals_keep_the_pools_error_text(engine: Engine) {
    let server = Server::start(engine);
    let mut pool = server.pool("gemini");
    let e = pool
        .spend(&ApiKey::new("test-key-0009-missing"), "embed")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "redis refused the command: ERR api key ...-missing is not in pool 'gemini'"
    );
    let e = pool
        .debug_clock(Some(1_700_000_000))
        .unwrap_err()
        .to_string();
    assert!(e.contains("debug"), "{e}");
}

on_both_engines!(
    engine_is_detected_and_the_library_loaded_when_missing,
    rotation_spend_restore_record_and_usage,
    report_judges_the_cases_and_status_shows_it,
    projects_share_a_daily_quota,
    pins_are_set_counted_down_and_lifted,
    refusals_keep_the_pools_error_text,
);
