// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OracleFeed: one price feed fed by a quorum of EIP-712-signed observations.
/// @notice Readers use Chainlink's AggregatorV3Interface (decimals, description, version,
/// getRoundData, latestRoundData). Anyone may relay a batch of observations; authority comes
/// from the signatures, never from msg.sender.
///
/// Invariants of an accepted batch (checked in `submit`):
/// - at least `quorum` observations, each signed by a distinct authorized signer;
/// - values sorted ascending (non-decreasing), so the median is read at the middle index;
/// - every timestamp strictly newer than the newest observation of every earlier accepted
///   batch (`latestObservationTimestamp`), which makes every signature single-use, and not more
///   than MAX_FUTURE_DRIFT seconds ahead of block.timestamp;
/// - low-s signatures only (EIP-2), in EIP-2098 compact form (r, vs).
///
/// The stored answer is the median; for an even count it is the LOWER middle value, so the
/// answer is always a value some signer actually observed (no rounding, no overflow).
/// updatedAt = startedAt = the OLDEST observation timestamp of the batch, so a consumer's
/// staleness check (`block.timestamp - updatedAt`) never overstates freshness.
contract OracleFeed {
    // ---------------------------------------------------------------- types and constants

    /// @notice One signed observation as it travels in calldata (4 words, static).
    /// `vs` packs the recovery bit in its top bit and `s` in the low 255 bits (EIP-2098).
    struct SignedObservation {
        int192 value;
        uint64 timestamp;
        bytes32 r;
        bytes32 vs;
    }

    /// @dev One round in one storage slot: 192 + 64 bits.
    struct Round {
        int192 answer;
        uint64 updatedAt;
    }

    uint256 public constant version = 1;
    /// @notice How far ahead of block.timestamp an observation may be stamped (clock skew).
    uint64 public constant MAX_FUTURE_DRIFT = 60;
    /// @notice Rounds kept for getRoundData; older rounds are overwritten (ring buffer).
    uint256 public constant ROUND_HISTORY = 128;
    /// @notice Signers are indexed in a uint256 bitmap while checking a batch.
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
    uint256 private constant S_MASK = (1 << 255) - 1;

    // ---------------------------------------------------------------- events

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);
    event SignersSet(address[] signers, uint8 quorum);
    event QuorumSet(uint8 quorum);
    event OwnershipTransferRequested(address indexed from, address indexed to);
    event OwnershipTransferred(address indexed from, address indexed to);

    // ---------------------------------------------------------------- errors

    error NoDataPresent();
    error RoundNotAvailable(uint80 roundId);
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

    string public description;

    // Read and written together on every submit, so they share one slot (80+64+8+8 bits).
    uint80 private s_latestRoundId;
    uint64 private s_latestObservationTimestamp;
    uint8 private s_quorum;
    uint8 private s_signerCount;

    address public owner;
    address public pendingOwner;

    /// @dev signer => index + 1 (0 means not authorized); index addresses the bitmap.
    mapping(address => uint256) private s_signerSlot;
    address[] private s_signers;
    Round[ROUND_HISTORY] private s_rounds;

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

    /// @notice Replace the whole signer set and the quorum atomically.
    function setSigners(address[] calldata signers_, uint8 quorum_) external onlyOwner {
        _setSigners(signers_, quorum_);
    }

    /// @notice Change the quorum only; 1 <= quorum <= number of signers.
    function setQuorum(uint8 quorum_) external onlyOwner {
        if (quorum_ == 0 || quorum_ > s_signerCount) revert InvalidQuorum(quorum_, s_signerCount);
        s_quorum = quorum_;
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

    function quorum() external view returns (uint8) {
        return s_quorum;
    }

    function latestObservationTimestamp() external view returns (uint64) {
        return s_latestObservationTimestamp;
    }

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        // Recomputed after a chain fork so signatures never cross to the forked chain.
        return block.chainid == CACHED_CHAIN_ID ? CACHED_DOMAIN_SEPARATOR : _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- submit

    /// @notice Accept a batch of signed observations and store their median as a new round.
    /// @param observations sorted by value ascending; at least `quorum`, distinct signers.
    /// @return roundId the id of the new round.
    function submit(SignedObservation[] calldata observations) external returns (uint80 roundId) {
        uint256 n = observations.length;
        uint8 quorum_ = s_quorum;
        if (n < quorum_) revert NotEnoughObservations(n, quorum_);

        uint64 lastSeen = s_latestObservationTimestamp;
        uint256 maxAllowed = block.timestamp + MAX_FUTURE_DRIFT;
        bytes32 domainSeparator = DOMAIN_SEPARATOR();
        uint64 oldest = type(uint64).max;
        uint64 newest = 0;
        uint256 seen = 0;

        for (uint256 i = 0; i < n; ++i) {
            SignedObservation calldata o = observations[i];
            if (i > 0 && o.value < observations[i - 1].value) revert ValuesNotSorted(i);
            uint64 ts = o.timestamp;
            if (ts <= lastSeen) revert StaleObservation(i, ts, lastSeen);
            if (ts > maxAllowed) revert TimestampTooFarInFuture(i, ts, maxAllowed);
            if (ts < oldest) oldest = ts;
            if (ts > newest) newest = ts;

            address signer = _recover(domainSeparator, o, i);
            uint256 slot = s_signerSlot[signer];
            if (slot == 0) revert UnauthorizedSigner(i, signer);
            uint256 bit = 1 << (slot - 1);
            if (seen & bit != 0) revert DuplicateSigner(i, signer);
            seen |= bit;
        }

        int192 answer = observations[(n - 1) / 2].value;
        roundId = s_latestRoundId + 1;
        s_latestRoundId = roundId;
        s_latestObservationTimestamp = newest;
        s_rounds[roundId % ROUND_HISTORY] = Round(answer, oldest);

        emit NewRound(roundId, msg.sender, oldest);
        emit AnswerUpdated(answer, roundId, oldest);
    }

    // ---------------------------------------------------------------- AggregatorV3Interface

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        roundId = s_latestRoundId;
        if (roundId == 0) revert NoDataPresent();
        return _roundData(roundId);
    }

    /// @notice Rounds older than ROUND_HISTORY behind the latest revert with RoundNotAvailable.
    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint80 latest = s_latestRoundId;
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

    function _recover(bytes32 domainSeparator, SignedObservation calldata o, uint256 i)
        private
        pure
        returns (address signer)
    {
        uint256 s = uint256(o.vs) & S_MASK;
        if (s > MAX_LOW_S) revert HighSSignature(i);
        uint8 v = uint8(uint256(o.vs) >> 255) + 27;
        bytes32 structHash = keccak256(abi.encode(OBSERVATION_TYPEHASH, o.value, o.timestamp));
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
        signer = ecrecover(digest, v, o.r, bytes32(s));
        if (signer == address(0)) revert InvalidSignature(i);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function _setSigners(address[] memory signers_, uint8 quorum_) private {
        uint256 count = signers_.length;
        if (count > MAX_SIGNERS) revert TooManySigners(count, MAX_SIGNERS);
        if (quorum_ == 0 || quorum_ > count) revert InvalidQuorum(quorum_, count);
        address[] storage current = s_signers;
        for (uint256 i = 0; i < current.length; ++i) {
            delete s_signerSlot[current[i]];
        }
        for (uint256 i = 0; i < count; ++i) {
            address signer = signers_[i];
            if (signer == address(0)) revert ZeroAddressSigner();
            if (s_signerSlot[signer] != 0) revert SignerListedTwice(signer);
            s_signerSlot[signer] = i + 1;
        }
        s_signers = signers_;
        s_quorum = quorum_;
        s_signerCount = uint8(count);
        emit SignersSet(signers_, quorum_);
    }
}
