//! A small safe layer over the module API's low-level key access (sorted sets and hashes).
//!
//! Every write here also replicates its effect as a plain Redis command, so replicas and the
//! AOF receive `ZADD`, `HSET`, `PEXPIREAT` and the like, never a `GPOOL.*` command: this is
//! the one place where changes are replicated.

use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int};
use std::ptr;

use redis_module::{raw, Context, RedisString};

use crate::clock;
use crate::error::PoolError;
use crate::names::KeyName;

thread_local! {
    /// Whether the running command has written (and so replicated) anything. Commands run
    /// on Redis's main thread, one at a time.
    static WROTE: Cell<bool> = const { Cell::new(false) };
}

/// Forgets the writes of the command before; called as each command starts.
pub fn begin_command() {
    WROTE.with(|w| w.set(false));
}

/// Whether the command running now has written anything so far.
pub fn command_wrote() -> bool {
    WROTE.with(Cell::get)
}

/// What a key is opened for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only.
    Read,
    /// Reads and writes.
    Write,
}

/// The Redis type a pool key must hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A sorted set.
    SortedSet,
    /// A hash.
    Hash,
}

/// An open Redis key, closed on drop.
pub struct Key<'c> {
    ctx: &'c Context,
    ptr: *mut raw::RedisModuleKey,
    name: RedisString,
}

impl<'c> Key<'c> {
    /// Opens the key `name`. A key opened for reading that does not exist behaves as empty.
    pub fn open(ctx: &'c Context, name: &KeyName, access: Access) -> Self {
        let name = RedisString::create_from_slice(ctx.ctx, name.as_bytes());
        let mode = match access {
            Access::Read => raw::REDISMODULE_READ,
            Access::Write => raw::REDISMODULE_READ | raw::REDISMODULE_WRITE,
        };
        // SAFETY: the context and the name are valid for the duration of the call.
        let ptr = unsafe { raw::RedisModule_OpenKey.unwrap()(ctx.ctx, name.inner, mode as c_int) };
        Key {
            ctx,
            ptr: ptr.cast(),
            name,
        }
    }

    /// Checks that the key is missing or holds `kind`.
    ///
    /// # Errors
    /// `PoolError::WrongType` when it holds anything else.
    pub fn expect(&self, kind: Kind) -> Result<(), PoolError> {
        // SAFETY: RedisModule_KeyType accepts a null key (it reports it as empty).
        let actual = unsafe { raw::RedisModule_KeyType.unwrap()(self.ptr) } as isize;
        let wanted = match kind {
            Kind::SortedSet => raw::REDISMODULE_KEYTYPE_ZSET,
            Kind::Hash => raw::REDISMODULE_KEYTYPE_HASH,
        };
        if actual == raw::REDISMODULE_KEYTYPE_EMPTY || actual == wanted {
            Ok(())
        } else {
            Err(PoolError::WrongType)
        }
    }

    fn exists(&self) -> bool {
        // SAFETY: as in `expect`.
        !self.ptr.is_null()
            && unsafe { raw::RedisModule_KeyType.unwrap()(self.ptr) } as isize
                != raw::REDISMODULE_KEYTYPE_EMPTY
    }

    /// Whether the key is missing (Redis deletes a set or hash when it empties).
    pub fn is_empty(&self) -> bool {
        !self.exists()
    }

    /// The number of members or fields; 0 for a missing key.
    pub fn len(&self) -> usize {
        if !self.exists() {
            return 0;
        }
        // SAFETY: the key is open and exists.
        unsafe { raw::RedisModule_ValueLength.unwrap()(self.ptr) }
    }

    /// A Redis string holding `bytes`, for passing to the methods below.
    pub fn string(&self, bytes: &[u8]) -> RedisString {
        RedisString::create_from_slice(self.ctx.ctx, bytes)
    }

    /// A Redis string holding `n` in decimal.
    pub fn integer(&self, n: i64) -> RedisString {
        self.string(itoa::Buffer::new().format(n).as_bytes())
    }

    /// Replicates `command` on this key with up to three more arguments, reusing the strings
    /// already made.
    fn replicate(&self, command: &CStr, args: &[&RedisString]) {
        WROTE.with(|w| w.set(true));
        let mut argv = [ptr::null_mut(); 4];
        argv[0] = self.name.inner;
        for (slot, arg) in argv[1..].iter_mut().zip(args) {
            *slot = arg.inner;
        }
        let argc = 1 + args.len().min(3);
        // SAFETY: the "v" format takes an array of strings and its length; every string is
        // alive for the call, and Redis takes its own references.
        unsafe {
            raw::RedisModule_Replicate.unwrap()(
                self.ctx.ctx,
                command.as_ptr(),
                c"v".as_ptr(),
                argv.as_mut_ptr(),
                argc,
            );
        }
    }

    // Sorted sets.

    /// The score of `member`, if it is in the set.
    pub fn zscore(&self, member: &RedisString) -> Option<f64> {
        if !self.exists() {
            return None;
        }
        let mut score = 0.0;
        // SAFETY: the key exists and is a sorted set (checked by the caller with `expect`).
        let status =
            unsafe { raw::RedisModule_ZsetScore.unwrap()(self.ptr, member.inner, &mut score) };
        (status == raw::REDISMODULE_OK as c_int).then_some(score)
    }

    /// Adds or updates `member` with `score`; true when it was not there before.
    pub fn zadd(&self, score: f64, member: &RedisString) -> bool {
        let mut flags: c_int = 0;
        // SAFETY: the key is open for writing and empty or a sorted set.
        unsafe { raw::RedisModule_ZsetAdd.unwrap()(self.ptr, score, member.inner, &mut flags) };
        let score = self.integer(score as i64);
        self.replicate(c"ZADD", &[&score, member]);
        flags & raw::REDISMODULE_ZADD_ADDED as c_int != 0
    }

    /// Removes `member`; true when it was there.
    pub fn zrem(&self, member: &RedisString) -> bool {
        if !self.exists() {
            return false;
        }
        let mut deleted: c_int = 0;
        // SAFETY: the key is open for writing and is a sorted set.
        unsafe { raw::RedisModule_ZsetRem.unwrap()(self.ptr, member.inner, &mut deleted) };
        if deleted != 0 {
            self.replicate(c"ZREM", &[member]);
        }
        deleted != 0
    }

    /// The member with the lowest score above `min` (or at `min` when `inclusive`).
    pub fn zfirst_from(&self, min: f64, inclusive: bool) -> Option<(RedisString, f64)> {
        if !self.exists() {
            return None;
        }
        let exclusive = c_int::from(!inclusive);
        // SAFETY: the key exists and is a sorted set; the range is stopped before returning.
        unsafe {
            raw::RedisModule_ZsetFirstInScoreRange.unwrap()(
                self.ptr,
                min,
                f64::INFINITY,
                exclusive,
                0,
            );
            let found = self.current_element();
            raw::RedisModule_ZsetRangeStop.unwrap()(self.ptr);
            found
        }
    }

    /// The member with the highest score below `max`.
    pub fn zlast_below(&self, max: f64) -> Option<(RedisString, f64)> {
        if !self.exists() {
            return None;
        }
        // SAFETY: as in `zfirst_from`.
        unsafe {
            raw::RedisModule_ZsetLastInScoreRange.unwrap()(self.ptr, f64::NEG_INFINITY, max, 0, 1);
            let found = self.current_element();
            raw::RedisModule_ZsetRangeStop.unwrap()(self.ptr);
            found
        }
    }

    /// Calls `f` with every member and score, lowest score first.
    pub fn zfor_each(&self, mut f: impl FnMut(RedisString, f64)) {
        if !self.exists() {
            return;
        }
        // SAFETY: as in `zfirst_from`.
        unsafe {
            raw::RedisModule_ZsetFirstInScoreRange.unwrap()(
                self.ptr,
                f64::NEG_INFINITY,
                f64::INFINITY,
                0,
                0,
            );
            while let Some((member, score)) = self.current_element() {
                f(member, score);
                if raw::RedisModule_ZsetRangeNext.unwrap()(self.ptr) == 0 {
                    break;
                }
            }
            raw::RedisModule_ZsetRangeStop.unwrap()(self.ptr);
        }
    }

    /// The element under the open range, if the range is not at its end.
    ///
    /// # Safety
    /// A range must be open on this key.
    unsafe fn current_element(&self) -> Option<(RedisString, f64)> {
        if raw::RedisModule_ZsetRangeEndReached.unwrap()(self.ptr) != 0 {
            return None;
        }
        let mut score = 0.0;
        let element = raw::RedisModule_ZsetRangeCurrentElement.unwrap()(self.ptr, &mut score);
        if element.is_null() {
            return None;
        }
        // The element is a new string owned by us; RedisString frees it on drop.
        Some((
            RedisString::from_redis_module_string(self.ctx.ctx, element),
            score,
        ))
    }

    // Hashes.

    /// The value of `field`, if present.
    pub fn hget(&self, field: &RedisString) -> Option<RedisString> {
        if !self.exists() {
            return None;
        }
        let mut value: *mut raw::RedisModuleString = ptr::null_mut();
        // SAFETY: the key exists and is a hash; the argument list ends with a null pointer.
        unsafe {
            raw::RedisModule_HashGet.unwrap()(
                self.ptr,
                raw::REDISMODULE_HASH_NONE as c_int,
                field.inner,
                &mut value as *mut *mut raw::RedisModuleString,
                ptr::null_mut::<c_void>(),
            );
        }
        (!value.is_null()).then(|| RedisString::from_redis_module_string(self.ctx.ctx, value))
    }

    /// The value of `field` read as an integer; 0 when absent or not a number.
    pub fn hget_integer(&self, field: &RedisString) -> i64 {
        self.hget(field)
            .and_then(|v| v.parse_integer().ok())
            .unwrap_or(0)
    }

    /// Sets `field` to `value`; true when the field is new.
    pub fn hset(&self, field: &RedisString, value: &RedisString) -> bool {
        // SAFETY: the key is open for writing and empty or a hash; the list ends with null.
        // Without REDISMODULE_HASH_COUNT_ALL, the count is of fields that existed.
        let updated = unsafe {
            raw::RedisModule_HashSet.unwrap()(
                self.ptr,
                raw::REDISMODULE_HASH_NONE as c_int,
                field.inner,
                value.inner,
                ptr::null_mut::<c_void>(),
            )
        };
        self.replicate(c"HSET", &[field, value]);
        updated == 0
    }

    /// Deletes `field`; true when it was there.
    pub fn hdel(&self, field: &RedisString) -> bool {
        if !self.exists() {
            return false;
        }
        // SAFETY: as in `hset`; REDISMODULE_HASH_DELETE as the value deletes the field.
        let deleted = unsafe {
            raw::RedisModule_HashSet.unwrap()(
                self.ptr,
                raw::REDISMODULE_HASH_NONE as c_int,
                field.inner,
                1 as *mut raw::RedisModuleString,
                ptr::null_mut::<c_void>(),
            )
        };
        if deleted > 0 {
            self.replicate(c"HDEL", &[field]);
        }
        deleted > 0
    }

    /// Calls `f` with every field and value, in the hash's own order.
    pub fn hfor_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        if !self.exists() {
            return;
        }
        unsafe extern "C" fn visit(
            _key: *mut raw::RedisModuleKey,
            field: *mut raw::RedisModuleString,
            value: *mut raw::RedisModuleString,
            data: *mut c_void,
        ) {
            let f = &mut *(data as *mut &mut dyn FnMut(&[u8], &[u8]));
            f(bytes_of(field), bytes_of(value));
        }
        let mut callback: &mut dyn FnMut(&[u8], &[u8]) = &mut f;
        // SAFETY: the cursor lives until it is freed below; the callback only runs during
        // RedisModule_ScanKey, while `callback` is alive.
        unsafe {
            let cursor = raw::RedisModule_ScanCursorCreate.unwrap()();
            while raw::RedisModule_ScanKey.unwrap()(
                self.ptr,
                cursor,
                Some(visit),
                &mut callback as *mut &mut dyn FnMut(&[u8], &[u8]) as *mut c_void,
            ) != 0
            {}
            raw::RedisModule_ScanCursorDestroy.unwrap()(cursor);
        }
    }

    // Expiry.

    /// Sets the key to expire `seconds` from now, and replicates the absolute time.
    pub fn expire_in(&self, seconds: i64) {
        self.expire_in_ms(seconds.max(1) * 1000);
    }

    /// Sets the key to expire `ms` milliseconds from now, and replicates the absolute time.
    pub fn expire_in_ms(&self, ms: i64) {
        if !self.exists() {
            return;
        }
        let ms = ms.max(1);
        // SAFETY: the key is open for writing and exists.
        unsafe { raw::RedisModule_SetExpire.unwrap()(self.ptr, ms) };
        let at = self.integer(clock::real_now_ms() + ms);
        self.replicate(c"PEXPIREAT", &[&at]);
    }
}

impl Drop for Key<'_> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: the key was opened by RedisModule_OpenKey and is closed once.
            unsafe { raw::RedisModule_CloseKey.unwrap()(self.ptr) };
        }
    }
}

fn bytes_of<'a>(s: *mut raw::RedisModuleString) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: Redis hands the callback valid strings that outlive it.
    unsafe {
        let p = raw::RedisModule_StringPtrLen.unwrap()(s, &mut len) as *const c_char;
        std::slice::from_raw_parts(p.cast::<u8>(), len)
    }
}
