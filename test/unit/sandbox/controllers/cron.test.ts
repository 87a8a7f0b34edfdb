import * as assert from 'node:assert/strict';
import { parseCron } from '../../../sandbox/controllers/cron';

const at = (iso: string): Date => new Date(iso);
const next = (expr: string, after: string): string | undefined => parseCron(expr).next(at(after))?.toISOString();

describe('sandbox cron schedules', () => {
  it('finds the next minute for every-minute and stepped schedules', () => {
    assert.equal(next('* * * * *', '2026-11-22T03:04:30Z'), '2026-11-22T03:05:00.000Z');
    assert.equal(next('*/15 * * * *', '2026-11-22T03:04:00Z'), '2026-11-22T03:15:00.000Z');
    assert.equal(next('*/15 * * * *', '2026-11-22T03:45:00Z'), '2026-11-22T04:00:00.000Z');
  });

  it('rolls over hours, days, months and years', () => {
    assert.equal(next('30 2 * * *', '2026-11-22T03:00:00Z'), '2026-11-23T02:30:00.000Z');
    assert.equal(next('0 0 1 * *', '2026-11-22T03:00:00Z'), '2026-12-01T00:00:00.000Z');
    assert.equal(next('@yearly', '2026-11-22T03:00:00Z'), '2027-01-01T00:00:00.000Z');
  });

  it('understands ranges, lists and names for months and weekdays', () => {
    // 2026-11-22 is a Sunday.
    assert.equal(next('0 9 * * mon-fri', '2026-11-22T03:00:00Z'), '2026-11-23T09:00:00.000Z');
    assert.equal(next('0 9 * * 0,6', '2026-11-22T10:00:00Z'), '2026-11-28T09:00:00.000Z');
    assert.equal(next('0 0 1 jan,jul *', '2026-11-22T00:00:00Z'), '2027-01-01T00:00:00.000Z');
    assert.equal(next('0 0 * * 7', '2026-11-22T03:00:00Z'), '2026-11-29T00:00:00.000Z');
  });

  it('matches either day field when both are restricted, as cron does', () => {
    // The 1st of the month or any Monday, whichever comes first.
    assert.equal(next('0 0 1 * 1', '2026-11-22T03:00:00Z'), '2026-11-23T00:00:00.000Z');
  });

  it('reports a bad schedule with the field at fault', () => {
    assert.throws(() => parseCron('61 * * * *'), /minute field "61": 61 is outside 0-59/);
    assert.throws(() => parseCron('* * *'), /expected 5 fields/);
    assert.throws(() => parseCron('*/0 * * * *'), /step "0" must be a positive integer/);
  });

  it('never matches an impossible date', () => {
    assert.equal(parseCron('0 0 31 2 *').next(at('2026-01-01T00:00:00Z')), undefined);
  });
});
