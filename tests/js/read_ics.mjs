// Reads a calendar file the server wrote with Mozilla's ical.js (Thunderbird's parser), the
// time zones registered from the file's own VTIMEZONE blocks as Thunderbird does, and prints each
// event's uid, sequence, summary and start and end as Unix seconds, as JSON.
// Usage: node read_ics.mjs FILE
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
const events = calendar.getAllSubcomponents("vevent").map((v) => {
  const e = new ICAL.Event(v);
  return {
    uid: e.uid,
    sequence: e.sequence,
    summary: e.summary,
    start: e.startDate.toUnixTime(),
    end: e.endDate.toUnixTime(),
    zone: e.startDate.zone ? e.startDate.zone.tzid : null,
  };
});
process.stdout.write(JSON.stringify(events));
