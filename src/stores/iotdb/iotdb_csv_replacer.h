// IotdbCsvReplacer: an IoTDB entity's export folder written anew from
// PostgreSQL's rows, as CSV files IoTDB's import tool loads, for rollback.
#pragma once

#include <memory>

#include "spec/spec.h"
#include "store/replacer.h"

namespace cutover::iotdb_store {

// IotdbCsvReplacer design
//
// Takes map::IotdbRecordBuilder's long documents in the order rollback reads
// them (the table's key order) and writes one file per series run:
// "Time,<series>(<TYPE>)" and a line per point, the time as the integer
// epoch in the source's precision and the value as the export tool spells
// it (TEXT in literal double quotes, BLOB 0x<hex>, DATE yyyy-mm-dd,
// TIMESTAMP its integer, floats Java-style NaN and Infinity), with ',', '\',
// '`' and line breaks escaped by a backslash. That is both what
// `import-data.sh -ft csv -s <folder>` loads (typed headers, so it infers
// nothing; a backquote is its quote character, so it is escaped) and what
// cutover's export reader reads, so verify can read the folder back. A
// series' type is the old export's typed header, else the document's
// "$type" (its column, else the value's family). Begin refuses a folder
// holding a series the entity does not read, or any file that is no
// export, since the new folder would not have it.
// Files are written into "<folder>.cutover-new"; Commit fsyncs them and
// swaps the two folders in one renameat2(RENAME_EXCHANGE), so a reader sees
// the old folder or the new one whole, then removes the old. Wide layouts
// are not written (FailedPrecondition).
std::unique_ptr<store::Replacer> NewIotdbCsvReplacer(const spec::SourceSpec& source,
                                                     const spec::EntitySpec& entity);

}  // namespace cutover::iotdb_store
