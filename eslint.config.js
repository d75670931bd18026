import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The channel table's marks whose sums it keeps running (see ChannelTable's totals). */
const TRACKED_MARKS =
  'capacityBaseUnits|acceptedSeq|acceptedAmount|durableSeq|durableAmount|settledAmount';
const TRACKED_TOTALS = 'unsettledBaseUnits|escrowOutstandingBaseUnits|acceptedBaseUnits';
const THROUGH_THE_TABLE =
  "the channel table keeps running totals of this mark: change it through ChannelTable's methods (insert, markAccepted, setCapacity, markDurable, markSettled, remove)";

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/hub/dashboard/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The marks' arrays and totals are public for the hot path to read without a call; a write
    // from outside the table would leave its totals (stats, metrics, the settlement threshold)
    // silently wrong, and no test pass over the table would notice.
    ignores: ['src/hub/channel-table.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          `AssignmentExpression > MemberExpression.left[object.property.name=/^(${TRACKED_MARKS})$/]`,
          `UpdateExpression > MemberExpression.argument[object.property.name=/^(${TRACKED_MARKS})$/]`,
          `CallExpression > MemberExpression.callee[object.property.name=/^(${TRACKED_MARKS})$/][property.name=/^(set|fill|copyWithin|sort|reverse)$/]`,
          `AssignmentExpression > MemberExpression.left[property.name=/^(${TRACKED_TOTALS})$/]`,
          `UpdateExpression > MemberExpression.argument[property.name=/^(${TRACKED_TOTALS})$/]`,
        ].map((selector) => ({ selector, message: THROUGH_THE_TABLE })),
      ],
    },
  },
);
