/** Table types for kysely. Each migration that adds a table adds its type here. */
export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface Database {
  settings: SettingsTable;
}
