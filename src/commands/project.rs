//! `GPOOL.PROJECT <pool> <project> <apikey> [<apikey> ...]`: groups keys by the provider
//! project they belong to, so a quota outcome reaches every key of the project.

use std::collections::BTreeMap;

use redis_module::{Context, RedisString, RedisValue};

use super::{api_keys, arity};
use crate::arguments;
use crate::error::PoolError;
use crate::keyspace::{Access, Key, Kind};
use crate::penalty::locate;
use crate::pool::Pool;

/// Places each key in the project, moving it out of any other. Replies with how many keys
/// were not in the project before.
pub fn run(ctx: &Context, args: &[RedisString]) -> Result<RedisValue, PoolError> {
    arity(args, 4, usize::MAX, "gpool.project")?;

    let name = arguments::pool(args[1].as_slice())?;
    let project = arguments::project(args[2].as_slice())?;
    let keys = api_keys(args, 3)?;

    let pool = Pool::new(ctx, name);
    let ring = Key::open(ctx, &pool.keys.ring(), Access::Read);
    ring.expect(Kind::SortedSet)?;
    let disabled = Key::open(ctx, &pool.keys.disabled(), Access::Read);
    disabled.expect(Kind::SortedSet)?;
    let projects = Key::open(ctx, &pool.keys.projects(), Access::Write);
    projects.expect(Kind::Hash)?;
    let mut earlier: Vec<String> = keys
        .iter()
        .filter_map(|k| project_of(&projects, k))
        .collect();
    earlier.push(project.to_owned());
    let members = open_members(&pool, earlier)?;
    let places = keys
        .iter()
        .map(|key| {
            locate(&ring, &disabled, key)
                .ok_or_else(|| PoolError::not_in_pool(key.as_slice(), name))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut placed = 0;
    let new_members = &members[project];
    for (key, place) in keys.iter().zip(places) {
        match project_of(&projects, key) {
            Some(old) if old == project => continue,
            Some(old) => {
                members[&old].zrem(key);
            }
            None => {}
        }
        projects.hset(key, &projects.string(project.as_bytes()));
        new_members.zadd(place.position as f64, key);
        placed += 1;
    }

    Ok(RedisValue::Integer(placed))
}

/// The project a key was placed in, if any.
pub fn project_of(projects: &Key, key: &RedisString) -> Option<String> {
    projects
        .hget(key)
        .map(|p| String::from_utf8_lossy(p.as_slice()).into_owned())
        .filter(|p| crate::names::is_valid_name(p.as_bytes()))
}

/// Opens the member sets of the named projects for writing, checking their types.
///
/// # Errors
/// `PoolError::WrongType` when one holds another type.
pub fn open_members<'c>(
    pool: &Pool<'c>,
    projects: impl IntoIterator<Item = String>,
) -> Result<BTreeMap<String, Key<'c>>, PoolError> {
    let mut members = BTreeMap::new();
    for project in projects {
        if members.contains_key(&project) {
            continue;
        }
        let key = Key::open(pool.ctx, &pool.keys.project(&project), Access::Write);
        key.expect(Kind::SortedSet)?;
        members.insert(project, key);
    }
    Ok(members)
}
