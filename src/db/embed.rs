//! Machines embedded in favorites and history entries. Each entry carries its whole
//! machine (guidance, muscles, tips: about 2 KB of JSON); joining `machines` made
//! Postgres read and send, and the service decode, a full catalog row per entry. The
//! entries' own columns are read instead, and their machines taken from an index of the
//! catalog kept per catalog version (`catalog::Catalog::machines`); a machine created
//! since that index was built is read with the entries. The index holds each machine's
//! JSON, rendered once per catalog version and copied into every answer that embeds it,
//! rather than a machine cloned and serialized again for each entry of each request.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgConnection, Postgres};

use super::Db;
use super::machines::machine_columns;
use super::query::Statements;
use super::rls::UserTx;
use crate::domain::machine::Machine;

/// A machine as favorites and history entries embed it: its JSON (a [`Machine`]),
/// rendered once and shared.
#[derive(Debug, Clone)]
pub struct EmbeddedMachine(Arc<RawValue>);

impl EmbeddedMachine {
    fn render(machine: &Machine) -> Result<Self, sqlx::Error> {
        serde_json::value::to_raw_value(machine)
            .map(|json| EmbeddedMachine(Arc::from(json)))
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }

    /// The machine this JSON renders.
    pub fn machine(&self) -> serde_json::Result<Machine> {
        serde_json::from_str(self.0.get())
    }
}

impl Serialize for EmbeddedMachine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Keeps the JSON as it came (from a serde_json reader: others cannot hand out raw
/// JSON), so that an answer read back renders the same.
impl<'de> Deserialize<'de> for EmbeddedMachine {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(de).map(|json| EmbeddedMachine(Arc::from(json)))
    }
}

/// A row with its machine.
pub type WithMachine<R> = (R, EmbeddedMachine);

/// Every machine, active or not, by id.
pub type MachineIndex = HashMap<String, EmbeddedMachine>;

/// Machines: all of them (`ids` None), or those `ids` names.
fn keyed<'q>(
    statements: &impl Statements,
    ids: Option<&'q [&'q str]>,
) -> QueryAs<'q, Postgres, Machine, PgArguments> {
    statements
        .query_as(concat!(
            "select ",
            machine_columns!(),
            " from public.machines m where $1::text[] is null or m.id = any($1)"
        ))
        .bind(ids)
}

fn by_id(machines: Vec<Machine>) -> Result<MachineIndex, sqlx::Error> {
    machines
        .into_iter()
        .map(|m| Ok((m.id.clone(), EmbeddedMachine::render(&m)?)))
        .collect()
}

/// All machines (the catalog is small: tens to a few hundred rows).
#[tracing::instrument(skip(db))]
pub async fn index(db: &Db) -> Result<MachineIndex, sqlx::Error> {
    by_id(
        db.with_conn(async |c: &mut PgConnection| keyed(db, None).fetch_all(c).await)
            .await?,
    )
}

/// The ids of `rows`' machines that `index` lacks.
fn missing<'r, R>(index: &MachineIndex, rows: &'r [R], id: impl Fn(&R) -> &str) -> Vec<&'r str> {
    rows.iter()
        .map(id)
        .filter(|id| !index.contains_key(*id))
        .collect()
}

/// Pairs each row with its machine, from `index` or else from `fetched`. A row whose
/// machine no longer exists is left out, as an inner join would.
fn pair<R>(
    index: &MachineIndex,
    fetched: MachineIndex,
    rows: Vec<R>,
    id: impl Fn(&R) -> &str,
) -> Vec<WithMachine<R>> {
    rows.into_iter()
        .filter_map(|row| {
            let machine = index
                .get(id(&row))
                .or_else(|| fetched.get(id(&row)))?
                .clone();
            Some((row, machine))
        })
        .collect()
}

/// Pairs rows read outside a transaction with their machines; machines `index` lacks
/// are read on a pooled connection.
pub async fn attach<R>(
    db: &Db,
    index: &MachineIndex,
    rows: Vec<R>,
    id: impl Fn(&R) -> &str,
) -> Result<Vec<WithMachine<R>>, sqlx::Error> {
    let missing = missing(index, &rows, &id);
    let fetched = if missing.is_empty() {
        MachineIndex::new()
    } else {
        by_id(
            db.with_conn(async |c: &mut PgConnection| keyed(db, Some(&missing)).fetch_all(c).await)
                .await?,
        )?
    };
    Ok(pair(index, fetched, rows, id))
}

/// The same inside a user's transaction: machines `index` lacks are read in it (never
/// on a second pooled connection while this one is held).
pub async fn attach_in<R>(
    tx: &mut UserTx,
    index: &MachineIndex,
    rows: Vec<R>,
    id: impl Fn(&R) -> &str,
) -> Result<Vec<WithMachine<R>>, sqlx::Error> {
    let missing = missing(index, &rows, &id);
    let fetched = if missing.is_empty() {
        MachineIndex::new()
    } else {
        let query = keyed(tx, Some(&missing));
        by_id(query.fetch_all(tx.conn()).await?)?
    };
    Ok(pair(index, fetched, rows, id))
}
