import type { Generated, Insertable, Selectable, Updateable } from 'kysely'

/** ACCOUNT: a customer and the balance (`amount`, whole won) they pay from. */
export interface AccountTable {
  id: string
  email: string
  name: string
  amount: number
  created_at: Generated<Date>
  updated_at: Generated<Date>
}

export type Account = Selectable<AccountTable>
export type NewAccount = Insertable<AccountTable>
export type AccountUpdate = Updateable<AccountTable>
