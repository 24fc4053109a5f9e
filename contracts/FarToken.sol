// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title FarToken: the ERC-20 token Far Labs pays node providers in (devnet build).
/// @notice The whole supply is minted to the treasury (the coordinator's account). A payout is a plain
/// ERC-20 transfer from the treasury, made through `payout` so each one carries the claim id it settles:
/// a provider can match the on-chain Transfer + Payout logs to the claim in their local ledger.
contract FarToken {
    string public constant name = "Far Token";
    string public constant symbol = "FAR";
    uint8 public constant decimals = 18;

    uint256 public totalSupply;
    address public treasury;

    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(bytes32 => bool) public claimPaid;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Payout(bytes32 indexed claimId, address indexed to, uint256 value);

    error NotTreasury();
    error AlreadyPaid(bytes32 claimId);
    error InsufficientBalance(uint256 available, uint256 needed);
    error InsufficientAllowance(uint256 available, uint256 needed);
    error ZeroAddress();

    constructor(uint256 initialSupply) {
        treasury = msg.sender;
        totalSupply = initialSupply;
        balanceOf[msg.sender] = initialSupply;
        emit Transfer(address(0), msg.sender, initialSupply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert InsufficientAllowance(allowed, value);
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    /// @notice Pays a claim: moves `value` from the treasury to `to`, once per `claimId`.
    function payout(bytes32 claimId, address to, uint256 value) external {
        if (msg.sender != treasury) revert NotTreasury();
        if (claimPaid[claimId]) revert AlreadyPaid(claimId);
        claimPaid[claimId] = true;
        _transfer(treasury, to, value);
        emit Payout(claimId, to, value);
    }

    function _transfer(address from, address to, uint256 value) internal {
        if (to == address(0)) revert ZeroAddress();
        uint256 have = balanceOf[from];
        if (have < value) revert InsufficientBalance(have, value);
        unchecked {
            balanceOf[from] = have - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
