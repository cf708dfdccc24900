//! Daily allowances: one identification taken atomically before the photo is read,
//! given back when the model was never asked.

use crate::db::Db;
use crate::db::query::Statements;
use crate::domain::identify::QuotaHolder;

// One statement each: the row lock makes concurrent requests queue, so the limit holds.
const TAKE_USER: &str = "insert into public.identification_quota (user_id, day, used) \
     values ($1::uuid, (now() at time zone 'utc')::date, 1) \
     on conflict (user_id, day) do update set used = identification_quota.used + 1 \
     where identification_quota.used < $2 returning used";
const TAKE_ADDRESS: &str = "insert into public.identification_ip_quota (ip_hash, day, used) \
     values ($1, (now() at time zone 'utc')::date, 1) \
     on conflict (ip_hash, day) do update set used = identification_ip_quota.used + 1 \
     where identification_ip_quota.used < $2 returning used";
const REFUND_USER: &str = "update public.identification_quota set used = greatest(used - 1, 0) \
     where user_id = $1::uuid and day = (now() at time zone 'utc')::date";
const REFUND_ADDRESS: &str = "update public.identification_ip_quota set used = greatest(used - 1, 0) \
     where ip_hash = $1 and day = (now() at time zone 'utc')::date";

/// One identification taken from a holder's daily allowance. It is given back unless
/// [`commit`](QuotaTicket::commit)ted: by [`refund`](QuotaTicket::refund) on an error the
/// handler sees, or, if the request is dropped part-way (the client went away), by a task
/// spawned when the ticket is dropped.
pub struct QuotaTicket {
    db: Db,
    holder: Option<QuotaHolder>,
}

impl QuotaTicket {
    /// The identification happened (the model was asked, or the answer came from the
    /// holder's own recent photo): the allowance stays spent.
    pub fn commit(mut self) {
        self.holder = None;
    }

    /// Gives the identification back now.
    pub async fn refund(mut self) -> Result<(), sqlx::Error> {
        match self.holder.take() {
            Some(holder) => refund(&self.db, &holder).await,
            None => Ok(()),
        }
    }
}

impl Drop for QuotaTicket {
    fn drop(&mut self) {
        let Some(holder) = self.holder.take() else {
            return;
        };
        let db = self.db.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = refund(&db, &holder).await {
                    tracing::warn!(error = %e, "quota refund of an abandoned identification failed");
                }
            });
        }
    }
}

/// Takes one identification from the holder's daily allowance; `None` when it is spent.
pub async fn take(
    db: &Db,
    holder: &QuotaHolder,
    limit: i32,
) -> Result<Option<QuotaTicket>, sqlx::Error> {
    if limit <= 0 {
        return Ok(None);
    }
    let sql = match holder {
        QuotaHolder::User(_) => TAKE_USER,
        QuotaHolder::Address(_) => TAKE_ADDRESS,
    };
    let used: Option<i32> = db
        .with_conn(async |c| {
            db.query_scalar(sql)
                .bind(holder.key())
                .bind(limit)
                .fetch_optional(c)
                .await
        })
        .await?;
    Ok(used.map(|_| QuotaTicket {
        db: db.clone(),
        holder: Some(holder.clone()),
    }))
}

/// Gives back an identification that never reached the model.
async fn refund(db: &Db, holder: &QuotaHolder) -> Result<(), sqlx::Error> {
    let sql = match holder {
        QuotaHolder::User(_) => REFUND_USER,
        QuotaHolder::Address(_) => REFUND_ADDRESS,
    };
    db.with_conn(async |c| db.query(sql).bind(holder.key()).execute(c).await)
        .await?;
    Ok(())
}
