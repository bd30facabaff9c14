//! `GPOOL.REMOVE <pool> <apikey> [<apikey> ...]`: takes keys and their state out of a pool.

use redis_module::{Context, RedisString, RedisValue};

use super::project::{open_members, project_of};
use super::{api_keys, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::{locate, ClassState};
use crate::pool::{known_classes, Pool};

/// Removes each key from the ring (or the disabled set), from every class's spent marks,
/// cooldowns and runs, from today's usage and from its project. Replies with how many keys
/// were in the pool.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 3, usize::MAX, "gpool.remove")?;

    let name = arguments::pool(args[1].as_slice())?;
    let keys = api_keys(args, 2)?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Write);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Write);
    disabled.expect(Kind::SortedSet)?;
    let cursor = Key::open(ctx, &pool.keys.cursor(), Access::Read);
    cursor.expect(Kind::Hash)?;
    let usage = Key::open(ctx, &pool.keys.usage(pool.day_label()), Access::Write);
    usage.expect(Kind::Hash)?;
    let projects = Key::open(ctx, &pool.keys.projects(), Access::Write);
    projects.expect(Kind::Hash)?;
    let states = known_classes(&cursor)
        .iter()
        .map(|class| ClassState::open(&pool, class))
        .collect::<Result<Vec<_>, _>>()?;
    let members = open_members(&pool, keys.iter().filter_map(|k| project_of(&projects, k)))?;

    for state in &states {
        state.prepare(&ring);
    }
    let mut removed = 0;
    for key in keys {
        let Some(place) = locate(&ring, &disabled, key) else {
            continue;
        };
        if place.in_ring {
            ring.zrem(key);
        } else {
            disabled.zrem(key);
        }
        for state in &states {
            state.spent.zrem(key);
            if place.in_ring {
                state.forget(&ring, key, place.position);
            } else {
                state.cooling.zrem(key);
            }
        }
        usage.hdel(key);
        if let Some(project) = project_of(&projects, key) {
            projects.hdel(key);
            members[&project].zrem(key);
        }
        removed += 1;
    }

    Ok(RedisValue::Integer(removed))
}
