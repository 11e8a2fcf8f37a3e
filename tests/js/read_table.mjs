// Reads a delimited file the server wrote with an independent parser (csv-parse) and prints its
// records as JSON, so a test can check them against the field list it expects.
// Usage: node read_table.mjs FILE (csv|tsv)
import { readFileSync } from "node:fs";
import { parse } from "csv-parse/sync";

const [file, kind] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const records = parse(text, {
  columns: true,
  delimiter: kind === "tsv" ? "\t" : ",",
  quote: kind === "tsv" ? false : '"',
  record_delimiter: ["\r\n"],
  relax_column_count: false,
  skip_empty_lines: false,
});
process.stdout.write(JSON.stringify(records));
