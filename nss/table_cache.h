// The last valid grant table a process read, kept while the file is the same
// file, so that a lookup (most are for names the table does not hold: every
// getpwnam of an ordinary user walks "files vigil") costs one lstat() and a
// copy instead of open, read and a full validation.
//
// "The same file" is the same device, inode, size, mode, owner, mtime and
// ctime: vigild replaces the table by rename() (a new inode), and any write
// or chmod in place changes ctime. A table is cached only after it passed
// load_table's checks and validate_table, for the owner it was read for.
//
// Process-wide state with no constructor: a mutex with a static initializer
// and a malloc()ed copy, freed when the module is unloaded. The mutex is only ever try-locked: a lookup that
// finds it held (another thread, or a child forked while it was held) reads
// the file itself instead of waiting, so it can never deadlock.
//
//   vigil::nss::TableText table;
//   if (!vigil::nss::load_valid_table(source, table)) return not_found(errnop);
#ifndef VIGIL_NSS_TABLE_CACHE_H
#define VIGIL_NSS_TABLE_CACHE_H

#include "table_file.h"

namespace vigil::nss {

// load_table, then validate_table, through the cache. False when the table
// is missing, refused or invalid; a lookup then finds nothing.
bool load_valid_table(const TableSource& source, TableText& out);

// From the cache alone, without copying it: whether the table as the file is
// now mentions needle (see mentions_field). Unknown when nothing is cached
// for the file as it is now, or the cache is busy: load the table then.
enum class Mention { No, Yes, Unknown };
Mention cached_mention(const TableSource& source, std::string_view needle);

// Both together: a lookup for needle can answer "not found" at once.
inline bool surely_absent(const TableSource& source, std::string_view needle) {
    return !needle.empty() && cached_mention(source, needle) == Mention::No;
}

}  // namespace vigil::nss

#endif
