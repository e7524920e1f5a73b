//! Column buffers that can drop the row being built.
//!
//! Arrow's array builders only grow, so a line that turns out bad half-way
//! would leave half a row behind. These buffers hold the same layout
//! (values, offsets and validity bits) in vectors that can be cut back to
//! the last whole row, and become Arrow arrays without a copy when a batch
//! is full.

use std::sync::Arc;

use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    ArrayRef, BooleanArray, ListArray, MapArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field as ArrowField};

use crate::columns::{ColumnType, list_item};

/// Values of a fixed width, and which are null.
#[derive(Debug)]
pub(crate) struct Primitive<T> {
    values: Vec<T>,
    nulls: NullBufferBuilder,
}

impl<T: Copy + Default> Primitive<T> {
    fn new() -> Primitive<T> {
        Primitive {
            values: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    #[inline]
    fn push_null(&mut self) {
        self.values.push(T::default());
        self.nulls.append_null();
    }

    fn push_nulls(&mut self, n: usize) {
        self.values.resize(self.values.len() + n, T::default());
        self.nulls.append_n_nulls(n);
    }

    fn truncate(&mut self, rows: usize) {
        self.values.truncate(rows);
        self.nulls.truncate(rows);
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn take(&mut self) -> (ScalarBuffer<T>, Option<arrow_buffer::NullBuffer>)
    where
        T: arrow_buffer::ArrowNativeType,
    {
        let (values, nulls) = self.take_vec();
        (ScalarBuffer::from(values), nulls)
    }

    fn take_vec(&mut self) -> (Vec<T>, Option<arrow_buffer::NullBuffer>) {
        let next = Vec::with_capacity(self.values.len());
        let values = std::mem::replace(&mut self.values, next);
        (values, self.nulls.finish())
    }
}

/// UTF-8 strings, one after the other, and where each ends.
#[derive(Debug)]
pub(crate) struct Text {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl Text {
    fn new() -> Text {
        Text {
            offsets: vec![0],
            bytes: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }

    /// The bytes, for appending one value: end it with [`end`](Text::end).
    #[inline]
    pub(crate) fn bytes(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Where the value being appended starts.
    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.bytes.len()
    }

    /// Ends the value appended to [`bytes`](Text::bytes).
    #[inline]
    pub(crate) fn end(&mut self) {
        // A batch is flushed long before 2 GiB of text (see
        // `WriterOptions::batch_bytes`), so the offset fits.
        self.offsets.push(self.bytes.len() as i32);
        self.nulls.append_non_null();
    }

    #[inline]
    pub(crate) fn push(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.end();
    }

    #[inline]
    fn push_null(&mut self) {
        self.offsets.push(self.bytes.len() as i32);
        self.nulls.append_null();
    }

    fn push_nulls(&mut self, n: usize) {
        let end = self.bytes.len() as i32;
        self.offsets.resize(self.offsets.len() + n, end);
        self.nulls.append_n_nulls(n);
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len + 1);
        self.bytes.truncate(self.offsets[len] as usize);
        self.nulls.truncate(len);
    }

    fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The strings as an array, and the buffer emptied.
    fn take(&mut self) -> Result<StringArray, ArrowError> {
        // The next batch is about as large: growing from empty would copy
        // it several times over.
        let (next_offsets, next_bytes) = (
            first_offset(self.offsets.len()),
            Vec::with_capacity(self.bytes.len()),
        );
        let offsets = std::mem::replace(&mut self.offsets, next_offsets);
        let bytes = std::mem::replace(&mut self.bytes, next_bytes);
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        // Checks the UTF-8 once per batch; `Rows` only appends valid text.
        StringArray::try_new(offsets, Buffer::from_vec(bytes), self.nulls.finish())
    }
}

/// Offsets with room for `capacity`, starting at 0.
fn first_offset(capacity: usize) -> Vec<i32> {
    let mut offsets = Vec::with_capacity(capacity);
    offsets.push(0);
    offsets
}

/// A map per row: where each row's entries start, and which rows are null.
#[derive(Debug)]
struct MapRows {
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl MapRows {
    fn new() -> MapRows {
        MapRows {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
        }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Truncates to `rows` rows; the number of entries they have.
    fn truncate(&mut self, rows: usize) -> usize {
        self.offsets.truncate(rows + 1);
        self.nulls.truncate(rows);
        self.offsets[rows] as usize
    }

    fn push_nulls(&mut self, n: usize) {
        let end = *self.offsets.last().unwrap_or(&0);
        self.offsets.resize(self.offsets.len() + n, end);
        self.nulls.append_n_nulls(n);
    }

    fn take(&mut self) -> (OffsetBuffer<i32>, Option<arrow_buffer::NullBuffer>) {
        let next = first_offset(self.offsets.len());
        let offsets = std::mem::replace(&mut self.offsets, next);
        (
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            self.nulls.finish(),
        )
    }
}

/// `query_params`: per row, names, each with a list of values.
#[derive(Debug)]
pub(crate) struct QueryMap {
    rows: MapRows,
    pub(crate) names: Text,
    /// Where each name's values start in `values`.
    value_offsets: Vec<i32>,
    pub(crate) values: Text,
}

impl QueryMap {
    fn new() -> QueryMap {
        QueryMap {
            rows: MapRows::new(),
            names: Text::new(),
            value_offsets: vec![0],
            values: Text::new(),
        }
    }

    /// Ends the values of the name last pushed to `names`.
    #[inline]
    pub(crate) fn end_name(&mut self) {
        self.value_offsets.push(self.values.len() as i32);
    }

    /// Ends the row of the names pushed since the last one.
    #[inline]
    pub(crate) fn end_row(&mut self) {
        self.rows.offsets.push(self.names.len() as i32);
        self.rows.nulls.append_non_null();
    }

    fn push_null(&mut self) {
        self.rows.offsets.push(self.names.len() as i32);
        self.rows.nulls.append_null();
    }

    fn truncate(&mut self, rows: usize) {
        let names = self.rows.truncate(rows);
        self.names.truncate(names);
        self.value_offsets.truncate(names + 1);
        self.values.truncate(self.value_offsets[names] as usize);
    }

    fn take(&mut self, data_type: &DataType) -> Result<MapArray, ArrowError> {
        let (offsets, nulls) = self.rows.take();
        let names = self.names.take()?;
        let next = first_offset(self.value_offsets.len());
        let value_offsets = std::mem::replace(&mut self.value_offsets, next);
        let values = ListArray::try_new(
            Arc::new(list_item()),
            OffsetBuffer::new(ScalarBuffer::from(value_offsets)),
            Arc::new(self.values.take()?),
            None,
        )?;
        map_array(data_type, offsets, Arc::new(names), Arc::new(values), nulls)
    }
}

/// `extra`: per row, keys with text values.
#[derive(Debug)]
pub(crate) struct ExtraMap {
    rows: MapRows,
    pub(crate) keys: Text,
    pub(crate) values: Text,
}

impl ExtraMap {
    fn new() -> ExtraMap {
        ExtraMap {
            rows: MapRows::new(),
            keys: Text::new(),
            values: Text::new(),
        }
    }

    /// Ends the row of the entries pushed since the last one: `null` when
    /// there are none. Whether there were any.
    #[inline]
    pub(crate) fn end_row(&mut self) -> bool {
        let start = *self.rows.offsets.last().unwrap_or(&0) as usize;
        let any = self.keys.len() > start;
        self.rows.offsets.push(self.keys.len() as i32);
        self.rows.nulls.append(any);
        any
    }

    fn truncate(&mut self, rows: usize) {
        let entries = self.rows.truncate(rows);
        self.keys.truncate(entries);
        self.values.truncate(entries);
    }

    fn take(&mut self, data_type: &DataType) -> Result<MapArray, ArrowError> {
        let (offsets, nulls) = self.rows.take();
        let keys = Arc::new(self.keys.take()?);
        let values = Arc::new(self.values.take()?);
        map_array(data_type, offsets, keys, values, nulls)
    }
}

/// A map array of `data_type` from its parts.
fn map_array(
    data_type: &DataType,
    offsets: OffsetBuffer<i32>,
    keys: ArrayRef,
    values: ArrayRef,
    nulls: Option<arrow_buffer::NullBuffer>,
) -> Result<MapArray, ArrowError> {
    let DataType::Map(entries_field, ordered) = data_type else {
        return Err(ArrowError::SchemaError(format!("{data_type} is not a map")));
    };
    let DataType::Struct(fields) = entries_field.data_type() else {
        return Err(ArrowError::SchemaError(format!(
            "{data_type} has no entries"
        )));
    };
    let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
    MapArray::try_new(entries_field.clone(), offsets, entries, nulls, *ordered)
}

/// The buffer of one column.
#[derive(Debug)]
pub(crate) enum ColumnBuffer {
    /// Milliseconds since the epoch.
    Timestamp(Primitive<i64>),
    Int64(Primitive<i64>),
    Seconds(Primitive<f64>),
    Boolean(Primitive<bool>),
    Text(Text),
    QueryParams(QueryMap),
    Extra(ExtraMap),
}

impl ColumnBuffer {
    pub(crate) fn new(column_type: ColumnType) -> ColumnBuffer {
        match column_type {
            ColumnType::Timestamp => ColumnBuffer::Timestamp(Primitive::new()),
            ColumnType::Int64 => ColumnBuffer::Int64(Primitive::new()),
            ColumnType::Seconds => ColumnBuffer::Seconds(Primitive::new()),
            ColumnType::Boolean => ColumnBuffer::Boolean(Primitive::new()),
            ColumnType::Text => ColumnBuffer::Text(Text::new()),
            ColumnType::QueryParams => ColumnBuffer::QueryParams(QueryMap::new()),
            ColumnType::Extra => ColumnBuffer::Extra(ExtraMap::new()),
        }
    }

    /// Appends a null.
    pub(crate) fn push_null(&mut self) {
        match self {
            ColumnBuffer::Timestamp(b) | ColumnBuffer::Int64(b) => b.push_null(),
            ColumnBuffer::Seconds(b) => b.push_null(),
            ColumnBuffer::Boolean(b) => b.push_null(),
            ColumnBuffer::Text(b) => b.push_null(),
            ColumnBuffer::QueryParams(b) => b.push_null(),
            ColumnBuffer::Extra(b) => {
                b.end_row();
            }
        }
    }

    /// Appends nulls up to `rows` rows, if it has fewer.
    pub(crate) fn pad_to(&mut self, rows: usize) {
        let n = rows.saturating_sub(self.len());
        if n == 0 {
            return;
        }
        match self {
            ColumnBuffer::Timestamp(b) | ColumnBuffer::Int64(b) => b.push_nulls(n),
            ColumnBuffer::Seconds(b) => b.push_nulls(n),
            ColumnBuffer::Boolean(b) => b.push_nulls(n),
            ColumnBuffer::Text(b) => b.push_nulls(n),
            ColumnBuffer::QueryParams(b) => b.rows.push_nulls(n),
            ColumnBuffer::Extra(b) => b.rows.push_nulls(n),
        }
    }

    /// The number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            ColumnBuffer::Timestamp(b) | ColumnBuffer::Int64(b) => b.len(),
            ColumnBuffer::Seconds(b) => b.len(),
            ColumnBuffer::Boolean(b) => b.len(),
            ColumnBuffer::Text(b) => b.len(),
            ColumnBuffer::QueryParams(b) => b.rows.len(),
            ColumnBuffer::Extra(b) => b.rows.len(),
        }
    }

    /// Cuts the buffer back to its first `rows` rows, if it has more (a
    /// column padded in bulk may have fewer).
    pub(crate) fn truncate(&mut self, rows: usize) {
        if rows >= self.len() {
            return;
        }
        match self {
            ColumnBuffer::Timestamp(b) | ColumnBuffer::Int64(b) => b.truncate(rows),
            ColumnBuffer::Seconds(b) => b.truncate(rows),
            ColumnBuffer::Boolean(b) => b.truncate(rows),
            ColumnBuffer::Text(b) => b.truncate(rows),
            ColumnBuffer::QueryParams(b) => b.truncate(rows),
            ColumnBuffer::Extra(b) => b.truncate(rows),
        }
    }

    /// The bytes of text held, for bounding a batch.
    pub(crate) fn text_bytes(&self) -> usize {
        match self {
            ColumnBuffer::Text(b) => b.byte_len(),
            ColumnBuffer::QueryParams(b) => b.names.byte_len() + b.values.byte_len(),
            ColumnBuffer::Extra(b) => b.keys.byte_len() + b.values.byte_len(),
            ColumnBuffer::Timestamp(_)
            | ColumnBuffer::Int64(_)
            | ColumnBuffer::Seconds(_)
            | ColumnBuffer::Boolean(_) => 0,
        }
    }

    /// The column as an array of `field`'s type, and the buffer emptied.
    pub(crate) fn take(&mut self, field: &ArrowField) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            ColumnBuffer::Timestamp(b) => {
                let (values, nulls) = b.take();
                let DataType::Timestamp(_, tz) = field.data_type() else {
                    return Err(ArrowError::SchemaError(format!("{field} is no timestamp")));
                };
                Arc::new(
                    PrimitiveArray::<TimestampMillisecondType>::try_new(values, nulls)?
                        .with_timezone_opt(tz.clone()),
                )
            }
            ColumnBuffer::Int64(b) => {
                let (values, nulls) = b.take();
                Arc::new(PrimitiveArray::<Int64Type>::try_new(values, nulls)?)
            }
            ColumnBuffer::Seconds(b) => {
                let (values, nulls) = b.take();
                Arc::new(PrimitiveArray::<Float64Type>::try_new(values, nulls)?)
            }
            ColumnBuffer::Boolean(b) => {
                let (values, nulls) = b.take_vec();
                Arc::new(BooleanArray::new(BooleanBuffer::from_iter(values), nulls))
            }
            ColumnBuffer::Text(b) => Arc::new(b.take()?),
            ColumnBuffer::QueryParams(b) => Arc::new(b.take(field.data_type())?),
            ColumnBuffer::Extra(b) => Arc::new(b.take(field.data_type())?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use arrow_array::Array;

    #[test]
    fn truncating_drops_the_last_rows_of_every_part() {
        let set = crate::ColumnSet::standard();
        let schema = set.arrow_schema();
        let field = schema.field_with_name("query_params").unwrap();
        let mut map = QueryMap::new();
        // Row 0: {a: [1, 2]}; row 1: null; row 2 (cut): {b: [3]}.
        map.names.push(b"a");
        map.values.push(b"1");
        map.values.push(b"2");
        map.end_name();
        map.end_row();
        map.push_null();
        map.names.push(b"b");
        map.values.push(b"3");
        map.end_name();
        map.end_row();
        map.truncate(2);
        let array = map.take(field.data_type()).unwrap();
        assert_eq!(array.len(), 2);
        assert!(array.is_null(1));
        assert_eq!(array.value(0).len(), 1);
        assert_eq!(array.values().len(), 1, "the cut row's entries are gone");

        let mut text = Text::new();
        text.push(b"kept");
        text.push_null();
        text.push(b"cut");
        text.truncate(2);
        let array = text.take().unwrap();
        assert_eq!(array.len(), 2);
        assert_eq!(array.value(0), "kept");
        assert!(array.is_null(1));
        assert_eq!(array.value_data(), b"kept");
    }
}
