// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OracleFeed: one price feed fed by a quorum of EIP-712-signed observations.
/// @notice Readers use Chainlink's AggregatorV3Interface (decimals, description, version,
/// getRoundData, latestRoundData). Anyone may relay a report; authority comes from the
/// signatures, every one of which is verified here (no optimistic shortcut), never from
/// msg.sender.
///
/// Invariants of an accepted report (checked in `submit`):
/// - at least `quorum` observations, each signed by a distinct member of the signer set;
/// - values sorted ascending (non-decreasing), so the median is read at the middle index;
/// - every timestamp strictly newer than the newest observation of every earlier accepted
///   report (`latestObservationTimestamp`), which makes every signature single-use, and not
///   more than MAX_FUTURE_DRIFT seconds ahead of block.timestamp;
/// - low-s signatures only (EIP-2), in EIP-2098 compact form (r, vs).
///
/// Gas design (see README, "Contract and gas"): the signer set is committed in storage as one
/// 160-bit hash and travels in calldata with each report, every observation naming its
/// signer's index in it, so authorization costs a calldata comparison instead of a cold
/// storage read per signer; the commitment, the quorum, the latest round id and the latest
/// observation timestamp share one storage slot; each round is one slot of a 128-round ring.
/// A steady-state update thus touches exactly two storage slots whatever the signer count.
///
/// The stored answer is the median; for an even count it is the LOWER middle value, so the
/// answer is always a value some signer actually observed (no rounding, no overflow).
/// updatedAt = startedAt = the OLDEST observation timestamp of the report, so a consumer's
/// staleness check (`block.timestamp - updatedAt`) never overstates freshness.
///
/// Report layout (tightly packed bytes, built by publisher/report.py):
///   [n: 1 byte][m: 1 byte]
///   n x { value(int192) << 64 | timestamp(uint64) : 32 bytes, r : 32, vs : 32, index : 1 }
///   m x signer address : 20 bytes (the whole signer set, in the order the owner set it)
contract OracleFeed {
    // ---------------------------------------------------------------- types and constants

    /// @dev One round in one storage slot: 192 + 64 bits.
    struct Round {
        int192 answer;
        uint64 updatedAt;
    }

    uint256 public constant version = 2;
    /// @notice How far ahead of block.timestamp an observation may be stamped (clock skew).
    uint64 public constant MAX_FUTURE_DRIFT = 60;
    /// @notice Rounds kept for getRoundData; older rounds are overwritten (ring buffer).
    uint256 public constant ROUND_HISTORY = 128;
    /// @notice Signer indices are one byte and index a uint256 bitmap.
    uint256 public constant MAX_SIGNERS = 255;

    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 public constant OBSERVATION_TYPEHASH =
        keccak256("Observation(int192 value,uint64 timestamp)");
    bytes32 private constant NAME_HASH = keccak256("OracleFeed");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// @dev secp256k1n / 2: larger s values are the malleable twin of a valid signature.
    uint256 private constant MAX_LOW_S =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 private constant S_MASK = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF;

    uint256 private constant OBSERVATION_BYTES = 97;
    uint256 private constant ADDRESS_BYTES = 20;

    // Header slot: [ commitment:160 | quorum:8 | latestRoundId:40 | latestObservationTs:48 ].
    uint256 private constant QUORUM_SHIFT = 160;
    uint256 private constant ROUND_SHIFT = 168;
    uint256 private constant TS_SHIFT = 208;
    uint256 private constant MASK_160 = (1 << 160) - 1;
    uint256 private constant MASK_40 = (1 << 40) - 1;

    // Failure codes of the assembly loop, turned into custom errors by `_fail`.
    uint256 private constant E_NONE = 0;
    uint256 private constant E_NOT_SORTED = 1;
    uint256 private constant E_STALE = 2;
    uint256 private constant E_FUTURE = 3;
    uint256 private constant E_HIGH_S = 4;
    uint256 private constant E_BAD_SIGNATURE = 5;
    uint256 private constant E_UNAUTHORIZED = 6;
    uint256 private constant E_DUPLICATE = 7;

    // ---------------------------------------------------------------- events

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);
    event SignersSet(address[] signers, uint8 quorum, bytes20 commitment);
    event QuorumSet(uint8 quorum);
    event OwnershipTransferRequested(address indexed from, address indexed to);
    event OwnershipTransferred(address indexed from, address indexed to);

    // ---------------------------------------------------------------- errors

    error NoDataPresent();
    error RoundNotAvailable(uint80 roundId);
    error MalformedReport(uint256 length);
    error SignerSetMismatch(bytes20 given, bytes20 committed);
    error NotEnoughObservations(uint256 given, uint8 quorum);
    error ValuesNotSorted(uint256 index);
    error StaleObservation(uint256 index, uint64 timestamp, uint64 latestObservationTimestamp);
    error TimestampTooFarInFuture(uint256 index, uint64 timestamp, uint256 maxAllowed);
    error HighSSignature(uint256 index);
    error InvalidSignature(uint256 index);
    error UnauthorizedSigner(uint256 index, address signer);
    error DuplicateSigner(uint256 index, address signer);
    error InvalidQuorum(uint8 quorum, uint256 signerCount);
    error TooManySigners(uint256 count, uint256 max);
    error ZeroAddressSigner();
    error SignerListedTwice(address signer);
    error NotOwner(address caller);
    error NotPendingOwner(address caller);

    // ---------------------------------------------------------------- state

    uint8 public immutable decimals;
    uint256 private immutable CACHED_CHAIN_ID;
    bytes32 private immutable CACHED_DOMAIN_SEPARATOR;

    /// @dev The only slot `submit` reads: see the header layout above.
    uint256 private s_header;
    Round[ROUND_HISTORY] private s_rounds;

    address public owner;
    address public pendingOwner;
    /// @dev The committed signer set, for readers; `submit` never reads it.
    address[] private s_signers;
    string public description;

    // ---------------------------------------------------------------- construction, admin

    constructor(uint8 decimals_, string memory description_, address[] memory signers_, uint8 quorum_) {
        decimals = decimals_;
        description = description_;
        owner = msg.sender;
        CACHED_CHAIN_ID = block.chainid;
        CACHED_DOMAIN_SEPARATOR = _buildDomainSeparator();
        emit OwnershipTransferred(address(0), msg.sender);
        _setSigners(signers_, quorum_);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Replace the whole signer set and the quorum atomically. Reports must then carry
    /// the new set (in this order); signatures of removed signers stop counting at once.
    function setSigners(address[] calldata signers_, uint8 quorum_) external onlyOwner {
        _setSigners(signers_, quorum_);
    }

    /// @notice Change the quorum only; 1 <= quorum <= number of signers.
    function setQuorum(uint8 quorum_) external onlyOwner {
        uint256 count = s_signers.length;
        if (quorum_ == 0 || quorum_ > count) revert InvalidQuorum(quorum_, count);
        s_header = (s_header & ~(uint256(0xff) << QUORUM_SHIFT)) | (uint256(quorum_) << QUORUM_SHIFT);
        emit QuorumSet(quorum_);
    }

    /// @notice Step one of an ownership transfer; `to` must call acceptOwnership.
    function transferOwnership(address to) external onlyOwner {
        pendingOwner = to;
        emit OwnershipTransferRequested(msg.sender, to);
    }

    /// @notice Step two: the pending owner takes over.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        address previous = owner;
        owner = msg.sender;
        pendingOwner = address(0);
        emit OwnershipTransferred(previous, msg.sender);
    }

    function signers() external view returns (address[] memory) {
        return s_signers;
    }

    /// @notice The 160-bit commitment to the signer set: the high 20 bytes of
    /// keccak256(signer addresses packed, 20 bytes each, in set order).
    function signerSetCommitment() external view returns (bytes20) {
        return bytes20(uint160(s_header));
    }

    function quorum() external view returns (uint8) {
        return uint8(s_header >> QUORUM_SHIFT);
    }

    function latestRound() external view returns (uint256) {
        return (s_header >> ROUND_SHIFT) & MASK_40;
    }

    function latestObservationTimestamp() external view returns (uint64) {
        return uint64(s_header >> TS_SHIFT);
    }

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        // Recomputed after a chain fork so signatures never cross to the forked chain.
        return block.chainid == CACHED_CHAIN_ID ? CACHED_DOMAIN_SEPARATOR : _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- submit

    /// @notice Accept a report of signed observations and store their median as a new round.
    /// @param report see the layout in the contract's documentation.
    /// @return roundId the id of the new round.
    function submit(bytes calldata report) external returns (uint80 roundId) {
        uint256 header = s_header;
        uint256 n;
        uint256 m;
        uint256 obs;
        uint256 set;
        assembly ("memory-safe") {
            let lead := calldataload(report.offset)
            n := byte(0, lead)
            m := byte(1, lead)
            obs := add(report.offset, 2)
            set := add(obs, mul(n, OBSERVATION_BYTES))
        }
        if (report.length != 2 + n * OBSERVATION_BYTES + m * ADDRESS_BYTES) {
            revert MalformedReport(report.length);
        }
        {
            bytes20 given = _commitment(set, m);
            if (uint160(given) != uint160(header)) revert SignerSetMismatch(given, bytes20(uint160(header)));
        }
        {
            uint8 quorum_ = uint8(header >> QUORUM_SHIFT);
            if (n < quorum_) revert NotEnoughObservations(n, quorum_);
        }

        (uint256 failure, uint256 at, uint256 oldest, uint256 newest, address signer) =
            _verify(obs, set, m, header >> TS_SHIFT);
        if (failure != E_NONE) _fail(failure, at, obs, signer, header >> TS_SHIFT);

        int256 answer;
        assembly ("memory-safe") {
            answer := sar(64, calldataload(add(obs, mul(shr(1, sub(n, 1)), OBSERVATION_BYTES))))
        }
        uint256 next = ((header >> ROUND_SHIFT) & MASK_40) + 1;
        roundId = uint80(next);
        s_header = (header & ((1 << ROUND_SHIFT) - 1)) | (next << ROUND_SHIFT) | (newest << TS_SHIFT);
        assembly ("memory-safe") {
            sstore(add(s_rounds.slot, mod(next, ROUND_HISTORY)), or(shl(192, oldest), and(answer, 0xffffffffffffffffffffffffffffffffffffffffffffffff)))
        }
        emit NewRound(next, msg.sender, oldest);
        emit AnswerUpdated(answer, next, oldest);
    }

    // ---------------------------------------------------------------- AggregatorV3Interface

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        roundId = uint80((s_header >> ROUND_SHIFT) & MASK_40);
        if (roundId == 0) revert NoDataPresent();
        return _roundData(roundId);
    }

    /// @notice Rounds older than ROUND_HISTORY behind the latest revert with RoundNotAvailable.
    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint80 latest = uint80((s_header >> ROUND_SHIFT) & MASK_40);
        if (roundId_ == 0 || roundId_ > latest || latest - roundId_ >= ROUND_HISTORY) {
            revert RoundNotAvailable(roundId_);
        }
        return _roundData(roundId_);
    }

    // ---------------------------------------------------------------- internals

    function _roundData(uint80 roundId)
        private
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = s_rounds[roundId % ROUND_HISTORY];
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    /// @dev Checks every observation; returns the first failure (code, calldata position of
    /// the observation) instead of reverting, so the loop stays in assembly. `signer` is the
    /// address recovered at `at`. Observations lie at `obs`, one per OBSERVATION_BYTES, up to
    /// `set` where the signer set begins.
    function _verify(uint256 obs, uint256 set, uint256 m, uint256 lastSeen)
        private
        view
        returns (uint256 failure, uint256 at, uint256 oldest, uint256 newest, address signer)
    {
        uint256 buf = _scratch();
        assembly ("memory-safe") {
            let seen := 0
            let prev := sub(0, shl(191, 1)) // int192 min: nothing sorts below it
            oldest := not(0)
            for { at := obs } lt(at, set) { at := add(at, OBSERVATION_BYTES) } {
                {
                    let word := calldataload(at)
                    let value := sar(64, word)
                    let ts := and(word, 0xffffffffffffffff)
                    if slt(value, prev) { failure := E_NOT_SORTED break }
                    prev := value
                    if iszero(gt(ts, lastSeen)) { failure := E_STALE break }
                    if gt(ts, add(timestamp(), MAX_FUTURE_DRIFT)) { failure := E_FUTURE break }
                    if lt(ts, oldest) { oldest := ts }
                    if gt(ts, newest) { newest := ts }
                    mstore(add(buf, 0x100), value)
                    mstore(add(buf, 0x120), ts)
                }
                {
                    let vs := calldataload(add(at, 0x40))
                    let s := and(vs, S_MASK)
                    if gt(s, MAX_LOW_S) { failure := E_HIGH_S break }
                    mstore(add(buf, 0x40), keccak256(add(buf, 0xe0), 0x60))
                    mstore(add(buf, 0x60), keccak256(add(buf, 0x1e), 0x42))
                    mstore(add(buf, 0x80), add(shr(255, vs), 27))
                    mstore(add(buf, 0xa0), calldataload(add(at, 0x20)))
                    mstore(add(buf, 0xc0), s)
                }
                {
                    let ok := staticcall(gas(), 1, add(buf, 0x60), 0x80, add(buf, 0x60), 0x20)
                    signer := mul(mload(add(buf, 0x60)), and(ok, eq(returndatasize(), 0x20)))
                }
                if iszero(signer) { failure := E_BAD_SIGNATURE break }
                let index := byte(0, calldataload(add(at, 0x60)))
                if iszero(lt(index, m)) { failure := E_UNAUTHORIZED break }
                if iszero(eq(signer, shr(96, calldataload(add(set, mul(index, ADDRESS_BYTES)))))) {
                    failure := E_UNAUTHORIZED break
                }
                let bit := shl(index, 1)
                if and(seen, bit) { failure := E_DUPLICATE break }
                seen := or(seen, bit)
            }
        }
    }

    /// @dev Scratch memory beyond the free memory pointer, never allocated:
    ///   buf+0x1e .. buf+0x60  "\x19\x01" || domainSeparator || structHash  (the digest's input)
    ///   buf+0x60 .. buf+0xe0  ecrecover input: digest, v, r, s
    ///   buf+0xe0 .. buf+0x140 structHash input: OBSERVATION_TYPEHASH, value, timestamp
    function _scratch() private view returns (uint256 buf) {
        bytes32 domainSeparator = DOMAIN_SEPARATOR();
        bytes32 typeHash = OBSERVATION_TYPEHASH;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mstore(buf, 0x1901)
            mstore(add(buf, 0x20), domainSeparator)
            mstore(add(buf, 0xe0), typeHash)
        }
    }

    function _fail(uint256 failure, uint256 at, uint256 obs, address signer, uint256 lastSeen) private view {
        uint256 word;
        assembly ("memory-safe") {
            word := calldataload(at)
        }
        uint64 ts = uint64(word);
        uint256 i = (at - obs) / OBSERVATION_BYTES;
        if (failure == E_NOT_SORTED) revert ValuesNotSorted(i);
        if (failure == E_STALE) revert StaleObservation(i, ts, uint64(lastSeen));
        if (failure == E_FUTURE) revert TimestampTooFarInFuture(i, ts, block.timestamp + MAX_FUTURE_DRIFT);
        if (failure == E_HIGH_S) revert HighSSignature(i);
        if (failure == E_BAD_SIGNATURE) revert InvalidSignature(i);
        if (failure == E_UNAUTHORIZED) revert UnauthorizedSigner(i, signer);
        revert DuplicateSigner(i, signer);
    }

    /// @dev High 20 bytes of keccak256 over `m` packed addresses at calldata offset `set`.
    function _commitment(uint256 set, uint256 m) private pure returns (bytes20 c) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let len := mul(m, ADDRESS_BYTES)
            calldatacopy(p, set, len)
            c := keccak256(p, len)
        }
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function _setSigners(address[] memory signers_, uint8 quorum_) private {
        uint256 count = signers_.length;
        if (count > MAX_SIGNERS) revert TooManySigners(count, MAX_SIGNERS);
        if (quorum_ == 0 || quorum_ > count) revert InvalidQuorum(quorum_, count);
        bytes memory packed = new bytes(count * ADDRESS_BYTES);
        for (uint256 i = 0; i < count; ++i) {
            address signer = signers_[i];
            if (signer == address(0)) revert ZeroAddressSigner();
            for (uint256 j = 0; j < i; ++j) {
                if (signers_[j] == signer) revert SignerListedTwice(signer);
            }
            assembly ("memory-safe") {
                mstore(add(add(packed, 0x20), mul(i, ADDRESS_BYTES)), shl(96, signer))
            }
        }
        // The array was sized exactly; the last mstore may spill 12 zero bytes past it, into
        // memory nothing else uses yet.
        bytes20 commitment = bytes20(keccak256(packed));
        s_signers = signers_;
        uint256 header = s_header;
        s_header = (header & ~((uint256(1) << ROUND_SHIFT) - 1)) | (uint256(quorum_) << QUORUM_SHIFT)
            | uint256(uint160(commitment));
        emit SignersSet(signers_, quorum_, commitment);
    }
}
