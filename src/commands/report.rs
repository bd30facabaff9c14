//! `GPOOL.REPORT <pool> <apikey> <class> <http-status> [<body>]`: applies the judgement of a
//! provider's answer to the pool, for every process at once.

use redis_module::{Context, RedisString, RedisValue};

use super::project::project_of;
use super::{api_key, arity, register_class};
use crate::arguments;
use crate::classify::{classify, Outcome};
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::{locate, ClassState};
use crate::pool::{known_classes, Pool};

/// Classifies the answer and applies it: a daily quota spends the key's whole project for
/// the class, a per-minute limit cools it, an invalid key is disabled, and the class's
/// failure streak follows. Replies `[outcome, cooldown seconds, streak]`.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 5, 6, "gpool.report")?;

    let name = arguments::pool(args[1].as_slice())?;
    let key = api_key(args, 2)?;
    let class = arguments::class(args[3].as_slice())?;
    let status = arguments::http_status(args[4].as_slice())?;
    let body = args.get(5).map_or(&[][..], |b| b.as_slice());

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Write);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Write);
    disabled.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Write);
    cursor.expect(Kind::Hash)?;
    let streaks = Key::open(ctx, &pool.keys.streak(), Access::Write);
    streaks.expect(Kind::Hash)?;
    let projects = Key::open(ctx, &pool.keys.projects(), Access::Read);
    projects.expect(Kind::Hash)?;

    let outcome = classify(status, body);
    let mut classes = vec![class.to_owned()];
    if outcome == Outcome::Permanent {
        classes.extend(known_classes(&cursor).into_iter().filter(|c| c != class));
    }
    let states = classes
        .iter()
        .map(|class| ClassState::open(&pool, class))
        .collect::<Result<Vec<_>, _>>()?;
    let affected = match outcome {
        Outcome::Daily | Outcome::Cooldown(_) => project_keys(&pool, &projects, key)?
            .into_iter()
            .filter_map(|k| locate(&ring, &disabled, &k).map(|place| (k, place)))
            .collect(),
        _ => Vec::new(),
    };
    let place = locate(&ring, &disabled, key)
        .ok_or_else(|| PoolError::not_in_pool(key.as_slice(), name))?;

    register_class(&cursor, &args[3]);
    for state in &states {
        state.prepare(&ring);
    }
    let reported = &states[0];
    match outcome {
        Outcome::Ok | Outcome::Transient => {}
        Outcome::Daily => {
            for (k, place) in &affected {
                reported.spend(&ring, k, *place);
            }
        }
        Outcome::Cooldown(seconds) => {
            let deadline = pool.now_ms + seconds as i64 * 1000;
            for (k, place) in &affected {
                reported.cool(&ring, k, *place, deadline);
            }
        }
        Outcome::Permanent => {
            if place.in_ring {
                ring.zrem(key);
                disabled.zadd(place.position as f64, key);
                for state in &states {
                    state.forget(&ring, key, place.position);
                }
            }
        }
    }
    let streak = update_streak(&streaks, &args[3], outcome);

    Ok(RedisValue::Array(vec![
        RedisValue::BulkString(outcome.name().to_owned()),
        RedisValue::Integer(outcome.cooldown_seconds() as i64),
        RedisValue::Integer(streak),
    ]))
}

/// The keys sharing the reported key's provider project: the key alone when it was never
/// grouped.
fn project_keys(
    pool: &Pool,
    projects: &Key,
    key: &RedisString,
) -> Result<Vec<RedisString>, PoolError> {
    let Some(project) = project_of(projects, key) else {
        return Ok(vec![projects.string(key.as_slice())]);
    };
    let members = Key::open(pool.ctx, &pool.keys.project(&project), Access::Read);
    members.expect(Kind::SortedSet)?;
    let mut keys = Vec::new();
    members.zfor_each(|member, _| keys.push(member));
    Ok(keys)
}

/// Moves the class's streak of consecutive failures: transient and cooldown outcomes add
/// one, success resets it, daily and permanent outcomes leave it. Returns the new streak.
fn update_streak(streaks: &Key, class: &RedisString, outcome: Outcome) -> i64 {
    let streak = streaks.hget_integer(class);
    let next = match outcome {
        Outcome::Ok => 0,
        Outcome::Transient | Outcome::Cooldown(_) => streak.saturating_add(1),
        Outcome::Daily | Outcome::Permanent => streak,
    };
    if next != streak {
        streaks.hset(class, &streaks.integer(next));
    }
    next
}
