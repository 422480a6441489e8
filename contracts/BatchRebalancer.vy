# pragma version ~=0.4.3
# pragma nonreentrancy on
# pragma evm-version cancun
"""
@title BatchRebalancer
@license MIT
@notice Holds a treasury's tokens and runs a whole rebalance (swaps through allowlisted routers,
        ERC-4626 deposits and redemptions, Aave V3 supplies and withdrawals) as one atomic batch.
        It is built to stay safe when the keeper's key is stolen or the keeper is wrong:
        - only the owner configures, and funds leave only to the owner;
        - a keeper can only call allowlisted routers, vaults and pools, with exact, revoked
          approvals, on allowlisted assets;
        - every step is measured as balance changes, never trusted from return values;
        - the batch reverts if the touched assets lost more than `max_loss_bps` of the value the
          batch sold, at the owner's oracle prices, whatever minimums the keeper passed.
@dev Layout (snekmate GUIDELINES): module wiring, exports, constants, immutables, storage,
     `__init__`, external, internal. Flags, structs and events are declared once, in
     `IBatchRebalancer.vyi`. Every external function of this file is non-reentrant (pragma).
     A running batch keeps its scratch (what it touched, measured balances, prices read) in
     transient storage; a transaction runs at most one batch.
     Gas: every batch reads each feed once and each asset's packed configuration once, keeps its
     measurements instead of reading balances twice, and logs what it measured rather than
     storing it; see bench/bench_gas.py for the itemization.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626

import IBatchRebalancer
implements: IBatchRebalancer

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.utils import pausable

initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: pausable


exports: (
    # Ownership: two steps. `renounce_ownership` is deliberately not exported: without an owner
    # nothing could ever be withdrawn.
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # Pause state (pause/unpause are ours: the guardian may pause, only the owner unpauses).
    pausable.paused,
)


interface IAggregatorV3:
    def decimals() -> uint8: view
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view


interface IAavePool:
    def supply(asset: address, amount: uint256, on_behalf_of: address, referral_code: uint16): nonpayable
    def withdraw(asset: address, amount: uint256, to: address) -> uint256: nonpayable


interface IAToken:
    def UNDERLYING_ASSET_ADDRESS() -> address: view
    def POOL() -> address: view


# An amount of ALL means "everything the contract holds of token_in right now", so a step can
# spend the measured output of the steps before it.
ALL: public(constant(uint256)) = max_value(uint256)
BPS: constant(uint256) = 10_000
MAX_STEPS: constant(uint256) = 16
MAX_POST_CONDITIONS: constant(uint256) = 16
MAX_ROUTER_CALLDATA: constant(uint256) = 2_048
# Each step touches at most two assets.
MAX_HOLDINGS: constant(uint256) = 2 * MAX_STEPS
MAX_FEED_DECIMALS: constant(uint256) = 18
MAX_TOKEN_DECIMALS: constant(uint256) = 36
# Values are computed exactly as (raw amount scaled to 18 decimals) x (price with 18 decimals),
# i.e. USD with 36 decimals, and reported in events as USD with 18 decimals.
VALUE_DECIMALS: constant(uint256) = 18
# Aave keeps aToken balances in scaled units (balance = scaled x liquidity index, rounded): a
# withdrawal of `amount` can lower the displayed balance by one raw unit more than `amount`.
AAVE_ROUNDING: constant(uint256) = 1

# Packed asset configuration, one storage slot per asset (one cold read per touched asset):
# bits 0-159 link (PLAIN: its feed; VAULT / A_TOKEN: the PLAIN underlying), 160-191 staleness
# limit in seconds, 192-199 feed decimals, 200-207 token decimals, 208-215 AssetKind.
_STALENESS_SHIFT: constant(uint256) = 160
_FEED_DECIMALS_SHIFT: constant(uint256) = 192
_DECIMALS_SHIFT: constant(uint256) = 200
_KIND_SHIFT: constant(uint256) = 208
_ADDRESS_MASK: constant(uint256) = (1 << 160) - 1
_BYTE_MASK: constant(uint256) = 255
_STALENESS_MASK: constant(uint256) = (1 << 32) - 1
_MAX_LOSS_SHIFT: constant(uint256) = 240
_BATCH_ID_MASK: constant(uint256) = (1 << 240) - 1


# An L2's Chainlink sequencer-uptime feed, or empty on L1. A chain fact, so fixed at deploy.
SEQUENCER_FEED: public(immutable(address))
# Seconds the sequencer must have been up before prices are trusted again.
SEQUENCER_GRACE_PERIOD: public(immutable(uint256))


# Account -> its roles (the owner needs none).
roles: public(HashMap[address, IBatchRebalancer.Role])
# Router -> the spender it needs approved (often the router itself); empty = not allowed.
routers: public(HashMap[address, address])
# Aave V3 pools the contract may supply to and withdraw from.
aave_pools: public(HashMap[address, bool])
# aToken -> the Aave pool that issues it.
a_token_pool: public(HashMap[address, address])
# Both read by every batch, so packed into one slot: the last batch id run (bits 0-239; ids
# only grow, so an id runs at most once and an older signed batch can never run later) and the
# largest loss a batch may take, in bps of the value it sold (bits 240-255).
_limits: uint256
# Token -> packed configuration (see the _*_SHIFT constants); 0 = not allowed.
_assets: HashMap[address, uint256]

# Scratch of the running batch, in transient storage: gone when the transaction ends, and a
# transaction runs at most one batch, so no batch can see another's and nothing is wiped.
_batch_ran: transient(bool)
_touched: transient(DynArray[address, MAX_HOLDINGS])
_tracked: transient(HashMap[address, bool])
# What the contract held of a token when the batch first touched it, raw units.
_held_before: transient(HashMap[address, uint256])
# What it held at the last measurement, raw units.
_held_now: transient(HashMap[address, uint256])
# PLAIN token -> its price (USD, 18 decimals) read this batch; 0 = not read yet.
_price_cache: transient(HashMap[address, uint256])


@deploy
def __init__(owner: address, max_loss_bps: uint256, sequencer_feed: address, sequencer_grace_period: uint256):
    """
    @param owner The treasury's Safe or DAO executor: configures, and receives all withdrawals.
    @param max_loss_bps The loss bound, bps of the value a batch sells.
    @param sequencer_feed The L2 sequencer-uptime feed, or empty on L1.
    @param sequencer_grace_period Seconds after the sequencer comes back before batches run.
    """
    assert owner != empty(address), "rebalancer: owner is empty"
    assert max_loss_bps <= BPS, "rebalancer: max loss above 10_000 bps"
    ownable.__init__()
    ownable_2step.__init__()
    pausable.__init__()
    ownable_2step._transfer_ownership(owner)
    self._limits = max_loss_bps << _MAX_LOSS_SHIFT
    SEQUENCER_FEED = sequencer_feed
    SEQUENCER_GRACE_PERIOD = sequencer_grace_period


# ---------------------------------------------------------------------------------------------
# The keeper
# ---------------------------------------------------------------------------------------------


@external
def execute(
    batch_id: uint256,
    deadline: uint256,
    steps: DynArray[IBatchRebalancer.Step, MAX_STEPS],
    post_conditions: DynArray[IBatchRebalancer.PostCondition, MAX_POST_CONDITIONS],
):
    """
    @notice Run `steps` in order, then check `post_conditions` and the loss bound; all or nothing.
    @param batch_id Must exceed every id run before.
    @param deadline Unix seconds; the batch reverts after it.
    """
    assert IBatchRebalancer.Role.KEEPER in self.roles[msg.sender], "rebalancer: not keeper"
    pausable._require_not_paused()
    assert block.timestamp <= deadline, "rebalancer: expired"
    limits: uint256 = self._limits
    assert batch_id > limits & _BATCH_ID_MASK, "rebalancer: batch id already used"
    assert batch_id <= _BATCH_ID_MASK, "rebalancer: batch id above 2**240"
    assert len(steps) != 0, "rebalancer: no steps"
    assert not self._batch_ran, "rebalancer: one batch per transaction"
    self._batch_ran = True
    self._limits = (limits & ~_BATCH_ID_MASK) | batch_id
    self._check_sequencer()

    for index: uint256 in range(len(steps), bound=MAX_STEPS):
        kind: IBatchRebalancer.StepKind = steps[index].kind
        amount: uint256 = 0
        spender: address = empty(address)
        amount, spender = self._prepare_step(
            kind, steps[index].target, steps[index].token_in, steps[index].token_out,
            steps[index].amount_in, steps[index].amount_offset, len(steps[index].data),
        )
        if kind == IBatchRebalancer.StepKind.SWAP:
            # The router is called from here, on the calldata already decoded into this frame:
            # handing it to an internal function would copy up to 2 KB more per step.
            offset: uint256 = steps[index].amount_offset
            if offset == 0:
                raw_call(steps[index].target, steps[index].data)
            else:
                raw_call(steps[index].target, concat(
                    slice(steps[index].data, 0, offset),
                    convert(amount, bytes32),
                    slice(steps[index].data, offset + 32, len(steps[index].data) - offset - 32),
                ))
        else:
            self._act(kind, steps[index].target, steps[index].token_in, steps[index].token_out, amount)
        self._finish_step(
            batch_id, index, kind, steps[index].target, steps[index].token_in, steps[index].token_out,
            amount, steps[index].min_out, spender,
        )

    self._check_post_conditions(post_conditions)
    self._settle(batch_id, limits >> _MAX_LOSS_SHIFT)


# ---------------------------------------------------------------------------------------------
# The owner: roles, limits, allowlists, funds
# ---------------------------------------------------------------------------------------------


@external
def set_roles(account: address, roles: IBatchRebalancer.Role):
    """
    @notice Replace `account`'s roles (empty flag = none).
    """
    self._check_owner()
    self.roles[account] = roles
    log IBatchRebalancer.RolesSet(account=account, roles=roles)


@external
def set_max_loss_bps(max_loss_bps: uint256):
    """
    @notice The loss bound, bps of the value a batch sells. It must cover swap fees, slippage
            and the feeds' own deviation thresholds.
    """
    self._check_owner()
    assert max_loss_bps <= BPS, "rebalancer: max loss above 10_000 bps"
    self._limits = (self._limits & _BATCH_ID_MASK) | (max_loss_bps << _MAX_LOSS_SHIFT)
    log IBatchRebalancer.MaxLossSet(max_loss_bps=max_loss_bps)


@external
def set_router(router: address, spender: address):
    """
    @notice Allow `router` (calls with keeper calldata) and the `spender` it pulls tokens with;
            an empty spender removes the router.
    @dev A router is called as this contract, so it must never be something that obeys this
         contract's `msg.sender`: a token, a vault, an Aave pool, or the contract itself.
    """
    self._check_owner()
    assert router != empty(address) and router != self, "rebalancer: router is empty or self"
    assert self._assets[router] == 0, "rebalancer: router is an asset"
    assert not self.aave_pools[router], "rebalancer: router is an Aave pool"
    assert spender != self, "rebalancer: spender is self"
    self.routers[router] = spender
    log IBatchRebalancer.RouterSet(router=router, spender=spender)


@external
def set_asset(token: address, feed: address, staleness: uint256):
    """
    @notice Allow `token` as a PLAIN asset priced by the Chainlink-style USD `feed`, whose
            answer may be at most `staleness` seconds old.
    """
    self._check_owner()
    self._check_new_asset(token)
    assert feed != empty(address), "rebalancer: feed is empty"
    assert staleness != 0 and staleness <= _STALENESS_MASK, "rebalancer: staleness out of range"
    feed_decimals: uint256 = convert(staticcall IAggregatorV3(feed).decimals(), uint256)
    assert feed_decimals <= MAX_FEED_DECIMALS, "rebalancer: feed decimals above 18"
    decimals: uint256 = convert(staticcall IERC20Detailed(token).decimals(), uint256)
    assert decimals <= MAX_TOKEN_DECIMALS, "rebalancer: token decimals above 36"
    self._assets[token] = self._pack(IBatchRebalancer.AssetKind.PLAIN, feed, staleness, feed_decimals, decimals)
    log IBatchRebalancer.AssetSet(token=token, kind=IBatchRebalancer.AssetKind.PLAIN, link=feed, staleness=staleness)


@external
def set_vault(vault: address):
    """
    @notice Allow the ERC-4626 `vault`: deposits, redemptions, and holding its shares, valued
            through its underlying, which must already be a PLAIN asset.
    """
    self._check_owner()
    self._check_new_asset(vault)
    underlying: address = staticcall IERC4626(vault).asset()
    self._check_plain(underlying)
    self._assets[vault] = self._pack(IBatchRebalancer.AssetKind.VAULT, underlying, 0, 0, 0)
    log IBatchRebalancer.AssetSet(token=vault, kind=IBatchRebalancer.AssetKind.VAULT, link=underlying, staleness=0)


@external
def set_aave_pool(pool: address, allowed: bool):
    """
    @notice Allow or forbid supplies to and withdrawals from the Aave V3 `pool`.
    """
    self._check_owner()
    assert pool != empty(address) and pool != self, "rebalancer: pool is empty or self"
    assert self.routers[pool] == empty(address), "rebalancer: pool is a router"
    assert self._assets[pool] == 0, "rebalancer: pool is an asset"
    self.aave_pools[pool] = allowed
    log IBatchRebalancer.AavePoolSet(pool=pool, allowed=allowed)


@external
def set_a_token(a_token: address, pool: address):
    """
    @notice Allow holding `a_token` of the allowed Aave `pool`, valued 1:1 as its underlying,
            which must already be a PLAIN asset.
    """
    self._check_owner()
    self._check_new_asset(a_token)
    assert self.aave_pools[pool], "rebalancer: Aave pool not allowed"
    assert staticcall IAToken(a_token).POOL() == pool, "rebalancer: aToken of another pool"
    underlying: address = staticcall IAToken(a_token).UNDERLYING_ASSET_ADDRESS()
    self._check_plain(underlying)
    self._assets[a_token] = self._pack(IBatchRebalancer.AssetKind.A_TOKEN, underlying, 0, 0, 0)
    self.a_token_pool[a_token] = pool
    log IBatchRebalancer.AssetSet(token=a_token, kind=IBatchRebalancer.AssetKind.A_TOKEN, link=underlying, staleness=0)


@external
def remove_asset(token: address):
    """
    @notice Forbid `token`: batches that touch it revert. Its balance stays withdrawable.
    """
    self._check_owner()
    self._assets[token] = 0
    self.a_token_pool[token] = empty(address)
    log IBatchRebalancer.AssetRemoved(token=token)


@external
def pause():
    """
    @notice Stop all batches. The guardian or the owner.
    """
    assert msg.sender == ownable.owner or IBatchRebalancer.Role.GUARDIAN in self.roles[msg.sender], "rebalancer: not guardian or owner"
    pausable._pause()


@external
def unpause():
    """
    @notice Let batches run again. The owner only.
    """
    self._check_owner()
    pausable._unpause()


@external
def withdraw(token: address, amount: uint256):
    """
    @notice Send `amount` raw units of `token` to the owner. Works while paused.
    """
    self._check_owner()
    self._send_to_owner(token, amount)


@external
def sweep(token: address):
    """
    @notice Send everything the contract holds of `token` to the owner. Works while paused.
    """
    self._check_owner()
    self._send_to_owner(token, staticcall IERC20(token).balanceOf(self))


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


@view
@external
def asset_config(token: address) -> IBatchRebalancer.AssetConfig:
    """
    @notice `token`'s configuration, unpacked; kind is empty when it is not allowed.
    """
    packed: uint256 = self._assets[token]
    return IBatchRebalancer.AssetConfig(
        kind=self._kind(packed),
        link=self._link(packed),
        staleness=(packed >> _STALENESS_SHIFT) & _STALENESS_MASK,
        feed_decimals=(packed >> _FEED_DECIMALS_SHIFT) & _BYTE_MASK,
        decimals=(packed >> _DECIMALS_SHIFT) & _BYTE_MASK,
    )


@view
@external
def last_batch_id() -> uint256:
    """
    @notice The highest batch id run so far; the next batch needs a higher one.
    """
    return self._limits & _BATCH_ID_MASK


@view
@external
def max_loss_bps() -> uint256:
    """
    @notice The loss bound: bps of the value a batch sells.
    """
    return self._limits >> _MAX_LOSS_SHIFT


@view
@external
def price_of(token: address) -> uint256:
    """
    @notice USD price (18 decimals) of one whole unit of `token`'s PLAIN asset (an underlying's
            price for vault shares and aTokens), with the same checks a batch applies.
    """
    plain: address = token
    packed: uint256 = self._assets[token]
    if self._kind(packed) != IBatchRebalancer.AssetKind.PLAIN:
        plain = self._link(packed)
        packed = self._assets[plain]
    assert self._kind(packed) == IBatchRebalancer.AssetKind.PLAIN, "rebalancer: asset not allowed"
    return self._read_price(packed)


# ---------------------------------------------------------------------------------------------
# Internal: steps
# ---------------------------------------------------------------------------------------------


@internal
def _prepare_step(
    kind: IBatchRebalancer.StepKind,
    target: address,
    token_in: address,
    token_out: address,
    amount_in: uint256,
    amount_offset: uint256,
    data_length: uint256,
) -> (uint256, address):
    """
    @dev Check the step against the allowlists, start tracking both assets, resolve the amount
         (raw units; ALL = what is held now) and approve exactly it to whoever will pull it.
         Returns (amount, spender), spender empty when nothing is pulled.
    """
    assert token_in != token_out, "rebalancer: token in is token out"
    held_in: uint256 = self._track(token_in)
    self._track(token_out)
    amount: uint256 = amount_in
    if amount == ALL:
        amount = held_in
    assert amount != 0, "rebalancer: zero amount"

    spender: address = empty(address)
    if kind == IBatchRebalancer.StepKind.SWAP:
        spender = self.routers[target]
        assert spender != empty(address), "rebalancer: router not allowed"
        if amount_offset != 0:
            assert amount_offset >= 4 and amount_offset + 32 <= data_length, "rebalancer: amount offset outside calldata"
    else:
        assert data_length == 0 and amount_offset == 0, "rebalancer: calldata on a non-swap step"
        if kind == IBatchRebalancer.StepKind.VAULT_DEPOSIT:
            self._check_wrapper(token_out, IBatchRebalancer.AssetKind.VAULT, token_in)
            assert target == token_out, "rebalancer: target is not the vault"
            spender = target
        elif kind == IBatchRebalancer.StepKind.VAULT_REDEEM:
            self._check_wrapper(token_in, IBatchRebalancer.AssetKind.VAULT, token_out)
            assert target == token_in, "rebalancer: target is not the vault"
        elif kind == IBatchRebalancer.StepKind.AAVE_SUPPLY:
            self._check_wrapper(token_out, IBatchRebalancer.AssetKind.A_TOKEN, token_in)
            self._check_pool(target, token_out)
            spender = target
        elif kind == IBatchRebalancer.StepKind.AAVE_WITHDRAW:
            self._check_wrapper(token_in, IBatchRebalancer.AssetKind.A_TOKEN, token_out)
            self._check_pool(target, token_in)
        else:
            raise "rebalancer: unknown step kind"
    if spender != empty(address):
        self._approve(token_in, spender, amount)
    return amount, spender


@internal
def _act(kind: IBatchRebalancer.StepKind, target: address, token_in: address, token_out: address, amount: uint256):
    """
    @dev The protocol call of a vault or Aave step (checked by `_prepare_step`); the contract
         is always the receiver and the owner.
    """
    if kind == IBatchRebalancer.StepKind.VAULT_DEPOSIT:
        extcall IERC4626(target).deposit(amount, self)
    elif kind == IBatchRebalancer.StepKind.VAULT_REDEEM:
        extcall IERC4626(target).redeem(amount, self, self)
    elif kind == IBatchRebalancer.StepKind.AAVE_SUPPLY:
        extcall IAavePool(target).supply(token_in, amount, self, 0)
    else:
        extcall IAavePool(target).withdraw(token_out, amount, self)


@internal
def _finish_step(
    batch_id: uint256,
    index: uint256,
    kind: IBatchRebalancer.StepKind,
    target: address,
    token_in: address,
    token_out: address,
    amount: uint256,
    min_out: uint256,
    spender: address,
):
    """
    @dev Revoke what is left of the approval, measure both balances and check them, log the step.
         The "before" balances are the batch's own last measurement (a warm read reused): nothing
         else holds an allowance, so they can only understate what arrived since, never hide a loss.
    """
    if spender != empty(address):
        self._revoke(token_in, spender)
    held_in: uint256 = self._held_now[token_in]
    held_out: uint256 = self._held_now[token_out]
    after_in: uint256 = staticcall IERC20(token_in).balanceOf(self)
    after_out: uint256 = staticcall IERC20(token_out).balanceOf(self)
    spent: uint256 = 0
    if after_in < held_in:
        spent = held_in - after_in
    received: uint256 = 0
    if after_out > held_out:
        received = after_out - held_out
    if kind == IBatchRebalancer.StepKind.AAVE_WITHDRAW:
        assert spent <= amount + AAVE_ROUNDING, "rebalancer: spent more than amount in"
    else:
        assert spent <= amount, "rebalancer: spent more than amount in"
    assert received >= min_out, "rebalancer: min out"
    self._held_now[token_in] = after_in
    self._held_now[token_out] = after_out
    log IBatchRebalancer.StepExecuted(
        batch_id=batch_id,
        index=index,
        kind=kind,
        target=target,
        token_in=token_in,
        token_out=token_out,
        spent=spent,
        received=received,
    )


@internal
def _check_post_conditions(post_conditions: DynArray[IBatchRebalancer.PostCondition, MAX_POST_CONDITIONS]):
    """
    @dev Fresh balance reads, not the batch's ledger: these are the keeper's explicit checks.
    """
    for condition: IBatchRebalancer.PostCondition in post_conditions:
        held: uint256 = staticcall IERC20(condition.token).balanceOf(self)
        assert held >= condition.min_balance, "rebalancer: post-condition"


@internal
def _track(token: address) -> uint256:
    """
    @dev What the contract holds of `token`, raw units, as last measured this batch. The first
         touch checks the asset is allowed and reads the balance: the batch's "before".
    """
    if self._tracked[token]:
        return self._held_now[token]
    assert self._assets[token] != 0, "rebalancer: asset not allowed"
    held: uint256 = staticcall IERC20(token).balanceOf(self)
    self._tracked[token] = True
    self._touched.append(token)
    self._held_before[token] = held
    self._held_now[token] = held
    return held


@internal
def _check_wrapper(wrapper: address, kind: IBatchRebalancer.AssetKind, underlying: address):
    packed: uint256 = self._assets[wrapper]
    assert self._kind(packed) == kind and self._link(packed) == underlying, "rebalancer: wrapper does not match its underlying"


@internal
def _check_pool(pool: address, a_token: address):
    assert self.aave_pools[pool] and self.a_token_pool[a_token] == pool, "rebalancer: Aave pool not allowed"


@internal
def _approve(token: address, spender: address, amount: uint256):
    """
    @dev Exactly `amount`. The allowance is always zero here (every step revokes what is left),
         which USDT-style approve-race-protected tokens require.
    """
    assert extcall IERC20(token).approve(spender, amount, default_return_value=True), "rebalancer: approve failed"


@internal
def _revoke(token: address, spender: address):
    """
    @dev Leave no allowance behind. An exact pull has already zeroed it, so a warm read usually
         saves the approve call and its event.
    """
    if staticcall IERC20(token).allowance(self, spender) != 0:
        assert extcall IERC20(token).approve(spender, 0, default_return_value=True), "rebalancer: approve failed"


# ---------------------------------------------------------------------------------------------
# Internal: valuation and the loss bound
# ---------------------------------------------------------------------------------------------


@internal
def _settle(batch_id: uint256, max_loss_bps: uint256):
    """
    @dev Value every touched asset before and after at this block's prices (each feed read once),
         enforce the loss bound, and log the batch.
    """
    value_before: uint256 = 0
    value_after: uint256 = 0
    value_sold: uint256 = 0
    for token: address in self._touched:
        before: uint256 = 0
        after: uint256 = 0
        before, after = self._values(token, self._held_before[token], self._held_now[token])
        value_before += before
        value_after += after
        if before > after:
            value_sold += before - after
    if value_after < value_before:
        assert (value_before - value_after) * BPS <= value_sold * max_loss_bps, "rebalancer: loss bound"

    unit: uint256 = 10 ** VALUE_DECIMALS
    log IBatchRebalancer.BatchExecuted(
        batch_id=batch_id,
        value_before=value_before // unit,
        value_after=value_after // unit,
        value_sold=value_sold // unit,
        gas_left=msg.gas,
    )


@internal
def _values(token: address, before: uint256, after: uint256) -> (uint256, uint256):
    """
    @dev USD with 36 decimals of `before` and `after` raw units of `token`: exact for tokens of at
         most 18 decimals. Vault shares count as what `convertToAssets` says they are worth now.
    """
    if before == 0 and after == 0:
        return 0, 0
    packed: uint256 = self._assets[token]
    kind: IBatchRebalancer.AssetKind = self._kind(packed)
    plain: address = token
    if kind != IBatchRebalancer.AssetKind.PLAIN:
        plain = self._link(packed)
        packed = self._assets[plain]
        if kind == IBatchRebalancer.AssetKind.VAULT:
            if before != 0:
                before = staticcall IERC4626(token).convertToAssets(before)
            if after != 0:
                after = staticcall IERC4626(token).convertToAssets(after)
    assert self._kind(packed) == IBatchRebalancer.AssetKind.PLAIN, "rebalancer: asset not allowed"
    price: uint256 = self._price_cache[plain]
    if price == 0:
        price = self._read_price(packed)
        self._price_cache[plain] = price
    decimals: uint256 = (packed >> _DECIMALS_SHIFT) & _BYTE_MASK
    if decimals <= 18:
        scale: uint256 = 10 ** (18 - decimals) * price
        return before * scale, after * scale
    down: uint256 = 10 ** (decimals - 18)
    return before // down * price, after // down * price


@view
@internal
def _read_price(packed: uint256) -> uint256:
    """
    @dev The feed's USD price scaled to 18 decimals. Zero, negative and stale answers revert.
    """
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, __, updated_at, ___ = staticcall IAggregatorV3(self._link(packed)).latestRoundData()
    assert answer > 0, "rebalancer: price not positive"
    staleness: uint256 = (packed >> _STALENESS_SHIFT) & _STALENESS_MASK
    assert updated_at + staleness >= block.timestamp, "rebalancer: stale price"
    feed_decimals: uint256 = (packed >> _FEED_DECIMALS_SHIFT) & _BYTE_MASK
    return convert(answer, uint256) * 10 ** (MAX_FEED_DECIMALS - feed_decimals)


@view
@internal
def _check_sequencer():
    """
    @dev On an L2 with a sequencer-uptime feed: the sequencer must be up (answer 0) and have been
         up for the grace period, or prices may be stale without looking stale.
    """
    if SEQUENCER_FEED == empty(address):
        return
    answer: int256 = 0
    started_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, started_at, __, ___ = staticcall IAggregatorV3(SEQUENCER_FEED).latestRoundData()
    assert answer == 0, "rebalancer: sequencer down"
    assert started_at != 0 and started_at + SEQUENCER_GRACE_PERIOD < block.timestamp, "rebalancer: sequencer grace period"


# ---------------------------------------------------------------------------------------------
# Internal: configuration helpers
# ---------------------------------------------------------------------------------------------


@view
@internal
def _check_owner():
    assert msg.sender == ownable.owner, "rebalancer: not owner"


@view
@internal
def _check_new_asset(token: address):
    """
    @dev An asset must never be callable as a router or pool: they are called as this contract.
    """
    assert token != empty(address) and token != self, "rebalancer: asset is empty or self"
    assert self.routers[token] == empty(address), "rebalancer: asset is a router"
    assert not self.aave_pools[token], "rebalancer: asset is an Aave pool"


@view
@internal
def _check_plain(token: address):
    assert self._kind(self._assets[token]) == IBatchRebalancer.AssetKind.PLAIN, "rebalancer: underlying is not a plain asset"


@pure
@internal
def _pack(kind: IBatchRebalancer.AssetKind, link: address, staleness: uint256, feed_decimals: uint256, decimals: uint256) -> uint256:
    return (
        convert(link, uint256)
        | staleness << _STALENESS_SHIFT
        | feed_decimals << _FEED_DECIMALS_SHIFT
        | decimals << _DECIMALS_SHIFT
        | convert(kind, uint256) << _KIND_SHIFT
    )


@pure
@internal
def _kind(packed: uint256) -> IBatchRebalancer.AssetKind:
    return convert((packed >> _KIND_SHIFT) & _BYTE_MASK, IBatchRebalancer.AssetKind)


@pure
@internal
def _link(packed: uint256) -> address:
    return convert(packed & _ADDRESS_MASK, address)


@internal
def _send_to_owner(token: address, amount: uint256):
    receiver: address = ownable.owner
    assert extcall IERC20(token).transfer(receiver, amount, default_return_value=True), "rebalancer: transfer failed"
    log IBatchRebalancer.Withdrawn(token=token, amount=amount, receiver=receiver)
